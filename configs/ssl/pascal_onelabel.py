# SSL consistency baseline (MTPSL Eq. 2)
# PASCAL-Context 5 tasks, onelabel (official MTPSL split).
# Put the official mask files under data/mtpsl_label_masks/ (see docs/partial_labels.md).
_base_ = [
    '../_base_/datasets/pascal_context.py', '../_base_/models/resnet18_aspp.py',
    '../_base_/schedules/adam_100e_poly.py', '../_base_/default_runtime.py'
]
partial_labels = dict(type='OfficialMask', file='data/mtpsl_label_masks/pascal_onelabel.npy')
model = dict(
    tasks={{_base_.tasks}},
    regularizers=[dict(type='SSLConsistency')])
train_dataloader = dict(
    batch_size=6,
    dataset=dict(
        partial_labels=partial_labels, pipeline={{_base_.train_pipeline_2views}}))
