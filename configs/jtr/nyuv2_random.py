# JTR (Nishi et al., CVPR 2024): joint-task auto-encoder regularization
# NYUv2 randomlabels (official MTPSL/JTR mask file).
# Put the official mask files under data/mtpsl_label_masks/ (see docs/partial_labels.md).
_base_ = [
    '../_base_/datasets/nyuv2.py', '../_base_/models/segnet_mtan.py',
    '../_base_/schedules/adam_400e.py', '../_base_/default_runtime.py'
]
partial_labels = dict(type='OfficialMask', file='data/mtpsl_label_masks/nyuv2_randomlabels.pth')
model = dict(
    tasks={{_base_.tasks}},
    normalize='batch',  # official code: sum over labelled tasks / B
    regularizers=[dict(type='JTR', dist_weight=4.0, recon_dist_weight=2.0, recon_weight=2.0)])
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        partial_labels=partial_labels, pipeline={{_base_.train_pipeline_3views}}))
# Δ% against supervised partial-label MTL (JTR README / poster)
val_evaluator = dict(
    baseline={'semseg/mIoU': 27.05, 'depth/abs_err': 0.6626, 'normal/mean': 33.58})
test_evaluator = val_evaluator
