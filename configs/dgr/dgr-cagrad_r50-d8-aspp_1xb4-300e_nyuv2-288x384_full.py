# DGR + CAGrad on fully labelled NYUv2 (the DGR paper's combination): the
# DGR penalty gradient is added to the encoder after CAGrad's update.
_base_ = ['./dgr_r50-d8-aspp_1xb4-300e_nyuv2-288x384_onelabel.py']
# _delete_: replace the parent's setting (Full takes no mask file)
partial_labels = dict(_delete_=True, type='Full')
train_dataloader = dict(
    dataset=dict(partial_labels=dict(_delete_=True, type='Full')))
val_evaluator = dict(baseline=None)
test_evaluator = val_evaluator
optim_wrapper = dict(balancer=dict(type='CAGrad'))
