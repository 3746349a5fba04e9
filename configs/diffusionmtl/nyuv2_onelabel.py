# DiffusionMTL (Ye & Xu, CVPR 2024), Feature Diffusion, NYUv2 onelabel
# (official MTPSL/JTR mask file). The released code covers PASCAL only: this
# uses the MTPSL/JTR NYUv2 protocol of the other methods (SegNet from
# scratch, Adam 1e-4, 200 epochs, batch 2) with DiffusionMTL's loss, 2
# diffusion steps and gradient clipping at 10 (see docs/methods/diffusionmtl.md).
# Put the official mask files under data/mtpsl_label_masks/ (see docs/partial_labels.md).
_base_ = [
    '../_base_/datasets/nyuv2.py', '../_base_/models/diffusionmtl_segnet.py',
    '../_base_/schedules/adam_200e.py', '../_base_/default_runtime.py'
]
partial_labels = dict(
    type='OfficialMask', file='data/mtpsl_label_masks/nyuv2_onelabel.pth')
model = dict(tasks={{_base_.tasks}})
train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        partial_labels=partial_labels, pipeline={{_base_.train_pipeline}}))
optim_wrapper = dict(clip_grad=dict(max_norm=10, norm_type=2))
# Δ% against supervised partial-label MTL (JTR README / poster)
val_evaluator = dict(
    baseline={'semseg/mIoU': 25.75, 'depth/abs_err': 0.6511, 'normal/mean': 33.73})
test_evaluator = val_evaluator
