# DGR (Shin et al., ECCV 2024): dummy gradient-norm regularization
# NYUv2 onelabel (official MTPSL/JTR mask file).
# Put the official mask files under data/mtpsl_label_masks/ (see docs/partial_labels.md).
_base_ = [
    '../_base_/datasets/nyuv2.py', '../_base_/models/resnet50_d8_aspp.py',
    '../_base_/schedules/sgd_cosine_300e.py', '../_base_/default_runtime.py'
]
partial_labels = dict(type='OfficialMask', file='data/mtpsl_label_masks/nyuv2_onelabel.pth')
# DGR / Auto-Lambda use an L1 loss for normals
tasks = [
    dict(name='semseg', type='SemSegTask', num_classes=13),
    dict(name='depth', type='DepthTask', stats=(2.3618, 1.5876)),
    dict(name='normal', type='NormalTask', loss='l1')]
model = dict(
    tasks=tasks,
    regularizers=[dict(type='DGR', lambda_=0.1, h=1e-3, num_dummy=1, mode='fd')])
train_pipeline = [
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomScaleCrop', scales=(1.0, 1.2, 1.5)),
    dict(type='PackMultiTaskInputs')
]
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        partial_labels=partial_labels, pipeline=train_pipeline, tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
# Δ% against supervised partial-label MTL (JTR README / poster)
val_evaluator = dict(
    baseline={'semseg/mIoU': 25.75, 'depth/abs_err': 0.6511, 'normal/mean': 33.73}, tasks=tasks)
test_evaluator = val_evaluator
