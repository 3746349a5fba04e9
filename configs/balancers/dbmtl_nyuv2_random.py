# DBMTL task balancing on supervised partial-label MTL, nyuv2 random.
# Per-task gradients w.r.t. the shared parameters;
# tasks without a labelled sample in the batch sit out the step.
_base_ = ['../supervised/nyuv2_random.py']
optim_wrapper = dict(
    type='MultiTaskOptimWrapper',
    balancer=dict(type='DBMTL'),
    rep_grad=False)
