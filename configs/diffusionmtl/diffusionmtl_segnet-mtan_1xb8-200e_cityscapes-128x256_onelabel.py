# DiffusionMTL (Ye & Xu, CVPR 2024), Feature Diffusion, Cityscapes 7-class +
# inverse depth, onelabel (official mask file). Protocol of the other
# methods' Cityscapes configs (SegNet, Adam 1e-4, 200 epochs, batch 8) with
# DiffusionMTL's loss, 2 steps and clipping at 10 (see the NYUv2 config).
_base_ = [
    '../_base_/datasets/cityscapes.py',
    '../_base_/models/diffusionmtl_segnet.py',
    '../_base_/schedules/adam_200e.py', '../_base_/default_runtime.py'
]
model = dict(
    tasks={{_base_.tasks}},
    loss_scale=2.0)  # official K/|T_n| per sample, K = 2 tasks
partial_labels = {{_base_.label_settings.onelabel}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
val_evaluator = dict(baseline={{_base_.baselines.onelabel}})
test_evaluator = val_evaluator
optim_wrapper = dict(clip_grad=dict(max_norm=10, norm_type=2))
