# Supervised partial-label MTL (MTPSL Eq. 1, labelled pairs only)
# NYUv2, all labels.
_base_ = [
    '../_base_/datasets/nyuv2.py', '../_base_/models/segnet_mtan.py',
    '../_base_/schedules/adam_200e.py', '../_base_/default_runtime.py'
]
partial_labels = dict(type='Full')
model = dict(
    tasks={{_base_.tasks}},
    normalize='batch',  # official code: sum over labelled tasks / B
)
train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        partial_labels=partial_labels, pipeline={{_base_.train_pipeline}}))
