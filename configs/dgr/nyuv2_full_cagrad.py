# DGR + CAGrad on fully labelled NYUv2 (the DGR paper's combination): the
# DGR penalty gradient is added to the encoder after CAGrad's update.
_base_ = ['./nyuv2_onelabel.py']
partial_labels = dict(type='Full')
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
val_evaluator = dict(baseline=None)
test_evaluator = val_evaluator
optim_wrapper = dict(
    type='MultiTaskOptimWrapper', balancer=dict(type='CAGrad'))
