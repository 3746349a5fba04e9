# DiffusionMTL (Ye & Xu, CVPR 2024), Feature Diffusion: the official PASCAL-
# Context protocol (configs/pascal/config.yml of prismformore/DiffusionMTL):
# ResNet-18, batch 6, Adam lr 2e-5 wd 1e-6, poly (0.9) per epoch over 100
# epochs, gradient clipping at L2 norm 10, loss weights semseg 1, parts 2,
# sal 5, edge 50, normals 10 (the dataset's task specs), 2 diffusion steps.
# Official README (one-label): semseg 57.16, parts 59.28, sal 78.00 maxF,
# normals 16.17, edge 64.60 odsF. ImageNet weights: see the model base config.
_base_ = [
    '../_base_/datasets/pascal_context.py',
    '../_base_/models/diffusionmtl_resnet18.py',
    '../_base_/schedules/adam_100e_poly.py', '../_base_/default_runtime.py'
]
model = dict(tasks={{_base_.tasks}})
partial_labels = {{_base_.label_settings.onelabel}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=2e-5, weight_decay=1e-6),
    clip_grad=dict(max_norm=10, norm_type=2))
