# JTR + Nash-MTL: the JTR terms are added after the task gradients are
# combined (regularizer terms are not subject to balancing).
_base_ = ['./nyuv2_random.py']
optim_wrapper = dict(
    type='MultiTaskOptimWrapper', balancer=dict(type='NashMTL'))
