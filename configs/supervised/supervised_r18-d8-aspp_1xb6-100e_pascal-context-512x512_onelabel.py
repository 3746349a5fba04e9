# Supervised partial-label MTL (MTPSL Eq. 1, labelled pairs only),
# PASCAL-Context 5 tasks, onelabel (official MTPSL split;
# docs/partial_labels.md), Vandenhende / MTPSL protocol: dilated
# ResNet-18 + ASPP heads, Adam 1e-4 poly, 100 epochs, batch 6. The root of
# the PASCAL-Context ResNet configs.
_base_ = [
    '../_base_/datasets/pascal_context.py',
    '../_base_/models/resnet18_aspp.py',
    '../_base_/schedules/adam_100e_poly.py', '../_base_/default_runtime.py'
]
model = dict(tasks={{_base_.tasks}})
partial_labels = {{_base_.label_settings.onelabel}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
