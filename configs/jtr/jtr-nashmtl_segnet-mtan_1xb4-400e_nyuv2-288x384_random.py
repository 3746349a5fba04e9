# JTR + Nash-MTL: the JTR terms are added after the task gradients are
# combined (regularizer terms are not subject to balancing).
_base_ = ['./jtr_segnet-mtan_1xb4-400e_nyuv2-288x384_random.py']
optim_wrapper = dict(balancer=dict(type='NashMTL'))
