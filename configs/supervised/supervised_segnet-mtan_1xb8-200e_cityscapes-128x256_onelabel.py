# Supervised partial-label MTL (MTPSL Eq. 1, labelled pairs only),
# Cityscapes 7-class + inverse depth, onelabel (official mask file;
# docs/partial_labels.md), MTPSL/JTR protocol: MTAN SegNet from scratch,
# Adam 1e-4, 200 epochs, batch 8. The root of the Cityscapes SegNet
# configs.
_base_ = [
    '../_base_/datasets/cityscapes.py', '../_base_/models/segnet_mtan.py',
    '../_base_/schedules/adam_200e.py', '../_base_/default_runtime.py'
]
model = dict(
    tasks={{_base_.tasks}},
    normalize='batch')  # official code: sum over labelled tasks / B
partial_labels = {{_base_.label_settings.onelabel}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
val_evaluator = dict(baseline={{_base_.baselines.onelabel}})
test_evaluator = val_evaluator
