# Supervised partial-label MTL (MTPSL Eq. 1, labelled pairs only)
# Cityscapes 7-class + inverse depth, onelabel (official mask file).
# Put the official mask files under data/mtpsl_label_masks/ (see docs/partial_labels.md).
_base_ = [
    '../_base_/datasets/cityscapes.py', '../_base_/models/segnet_mtan.py',
    '../_base_/schedules/adam_200e.py', '../_base_/default_runtime.py'
]
partial_labels = dict(type='OfficialMask', file='data/mtpsl_label_masks/cityscapes_onelabel.pth')
model = dict(
    tasks={{_base_.tasks}},
    normalize='batch',  # official code: sum over labelled tasks / B
)
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        partial_labels=partial_labels, pipeline={{_base_.train_pipeline}}))
# Δ% against supervised partial-label MTL (JTR README / poster)
val_evaluator = dict(
    baseline={'semseg/mIoU': 69.50, 'depth/abs_err': 0.0186})
test_evaluator = val_evaluator
