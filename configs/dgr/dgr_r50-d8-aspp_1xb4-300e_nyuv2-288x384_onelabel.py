# DGR (Shin et al., ECCV 2024): dummy gradient-norm regularization, NYUv2
# onelabel (official MTPSL/JTR mask file), DGR / Auto-Lambda protocol:
# dilated ResNet-50 + ASPP heads from scratch, SGD 0.1 cosine, 300
# epochs, batch 4, flip + RandomScaleCrop.
_base_ = [
    '../_base_/datasets/nyuv2.py', '../_base_/models/resnet50_d8_aspp.py',
    '../_base_/schedules/sgd_cosine_300e.py', '../_base_/default_runtime.py'
]
# DGR / Auto-Lambda use an L1 loss for normals
tasks = [
    dict(name='semseg', type='SemSegTask', num_classes=13),
    dict(name='depth', type='DepthTask', stats=(2.3618, 1.5876)),
    dict(name='normal', type='NormalTask', loss='l1')
]
model = dict(tasks=tasks, regularizers=[dict(type='DGR', lambda_=0.1, h=1e-3, num_dummy=1, mode='fd')])
train_pipeline = [
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomScaleCrop', scales=(1.0, 1.2, 1.5)),
    dict(type='PackMultiTaskInputs')
]
partial_labels = {{_base_.label_settings.onelabel}}
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        partial_labels=partial_labels, pipeline=train_pipeline, tasks=tasks))
val_dataloader = dict(dataset=dict(tasks=tasks))
test_dataloader = val_dataloader
val_evaluator = dict(baseline={{_base_.baselines.onelabel}})
test_evaluator = val_evaluator
