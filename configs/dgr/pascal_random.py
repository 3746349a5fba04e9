# DGR (Shin et al., ECCV 2024): dummy gradient-norm regularization
# PASCAL-Context 5 tasks, randomlabels (official MTPSL split).
# Put the official mask files under data/mtpsl_label_masks/ (see docs/partial_labels.md).
_base_ = [
    '../_base_/datasets/pascal_context.py', '../_base_/models/resnet18_aspp.py',
    '../_base_/schedules/adam_100e_poly.py', '../_base_/default_runtime.py'
]
partial_labels = dict(type='OfficialMask', file='data/mtpsl_label_masks/pascal_randomlabels.npy')
model = dict(
    tasks={{_base_.tasks}},
    regularizers=[dict(type='DGR', lambda_=0.1, h=1e-3, num_dummy=1, mode='fd')])
train_dataloader = dict(
    batch_size=6,
    dataset=dict(
        partial_labels=partial_labels, pipeline={{_base_.train_pipeline}}))
