# DiffusionMTL (Ye & Xu, CVPR 2024), Feature Diffusion, Cityscapes 7-class +
# inverse depth, onelabel (official mask file). Protocol of the other
# methods' Cityscapes configs (SegNet, Adam 1e-4, 200 epochs, batch 8) with
# DiffusionMTL's loss, 2 steps and clipping at 10 (see nyuv2_onelabel.py).
# Put the official mask files under data/mtpsl_label_masks/ (see docs/partial_labels.md).
_base_ = [
    '../_base_/datasets/cityscapes.py',
    '../_base_/models/diffusionmtl_segnet.py',
    '../_base_/schedules/adam_200e.py', '../_base_/default_runtime.py'
]
partial_labels = dict(
    type='OfficialMask', file='data/mtpsl_label_masks/cityscapes_onelabel.pth')
model = dict(
    tasks={{_base_.tasks}},
    loss_scale=2.0)  # official K/|T_n| per sample, K = 2 tasks
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        partial_labels=partial_labels, pipeline={{_base_.train_pipeline}}))
optim_wrapper = dict(clip_grad=dict(max_norm=10, norm_type=2))
# Δ% against supervised partial-label MTL (JTR README / poster)
val_evaluator = dict(
    baseline={'semseg/mIoU': 69.50, 'depth/abs_err': 0.0186})
test_evaluator = val_evaluator
