# DiffusionMTL + PCGrad on the synthetic scenes (onelabel): each task's
# loss_<task> (final + preliminary term) is one row of the balancer; the
# shared parameters are the backbone and the fusion neck.
_base_ = ['./diffusionmtl_segnet-small_1xb10-demo_synthetic_onelabel.py']
optim_wrapper = dict(balancer=dict(type='PCGrad'))
