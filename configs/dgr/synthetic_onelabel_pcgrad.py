# DGR + PCGrad on the synthetic scenes (onelabel).
_base_ = ['./synthetic_onelabel.py']
optim_wrapper = dict(
    type='MultiTaskOptimWrapper', balancer=dict(type='PCGrad'))
