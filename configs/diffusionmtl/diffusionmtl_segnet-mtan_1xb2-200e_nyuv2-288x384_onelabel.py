# DiffusionMTL (Ye & Xu, CVPR 2024), Feature Diffusion, NYUv2 onelabel
# (official MTPSL/JTR mask file). The released code covers PASCAL only: this
# uses the MTPSL/JTR NYUv2 protocol of the other methods (SegNet from
# scratch, Adam 1e-4, 200 epochs, batch 2) with DiffusionMTL's loss, 2
# diffusion steps and gradient clipping at 10 (see
# docs/methods/diffusionmtl.md).
_base_ = [
    '../_base_/datasets/nyuv2.py', '../_base_/models/diffusionmtl_segnet.py',
    '../_base_/schedules/adam_200e.py', '../_base_/default_runtime.py'
]
model = dict(tasks={{_base_.tasks}})
partial_labels = {{_base_.label_settings.onelabel}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
val_evaluator = dict(baseline={{_base_.baselines.onelabel}})
test_evaluator = val_evaluator
optim_wrapper = dict(clip_grad=dict(max_norm=10, norm_type=2))
