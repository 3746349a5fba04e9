# Uncertainty task balancing on supervised partial-label MTL (per-task
# gradients w.r.t. the shared parameters);
# tasks without a labelled sample in the batch sit out the step.
_base_ = ['../supervised/supervised_segnet-small_1xb10-demo_synthetic_onelabel.py']
optim_wrapper = dict(balancer=dict(type='Uncertainty'), rep_grad=False)
