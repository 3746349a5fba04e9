# DGR + PCGrad on the synthetic scenes (onelabel).
_base_ = ['./dgr_segnet-small_1xb10-demo_synthetic_onelabel.py']
optim_wrapper = dict(balancer=dict(type='PCGrad'))
