# NYUv2, MTAN .npy layout (data/nyuv2/{train,val}/{image,label,depth,normal})
# 795 train / 654 test images at 288x384, 13-class seg, depth, normals.
# MTPSL/JTR protocol: RandomScaleCrop, no flip, [0, 1] images.
dataset_type = 'NYUv2Dataset'
data_root = 'data/nyuv2'
# a list keeps the task order (dict keys are sorted when mmengine dumps a
# config); the order is the task order everywhere (masks, heads, losses)
tasks = [
    dict(name='semseg', type='SemSegTask', num_classes=13),
    # official JTR CDF statistics of NYUv2 depth
    dict(name='depth', type='DepthTask', stats=(2.3618, 1.5876)),
    dict(name='normal', type='NormalTask')
]
partial_labels = dict(type='Full')
# The partial-label settings that configs pick (docs/partial_labels.md):
# the official MTPSL/JTR mask files (put them under data/mtpsl_label_masks/),
# and the Δ% baseline of each: supervised partial-label MTL (JTR README /
# poster)
label_settings = dict(
    onelabel=dict(
        type='OfficialMask',
        file='data/mtpsl_label_masks/nyuv2_onelabel.pth'),
    random=dict(
        type='OfficialMask',
        file='data/mtpsl_label_masks/nyuv2_randomlabels.pth'))
baselines = dict(
    onelabel={'semseg/mIoU': 25.75, 'depth/abs_err': 0.6511,
              'normal/mean': 33.73},
    random={'semseg/mIoU': 27.05, 'depth/abs_err': 0.6626,
            'normal/mean': 33.58})
rsc = dict(type='RandomScaleCrop', scales=(1.0, 1.2, 1.5))
train_pipeline = [rsc, dict(type='PackMultiTaskInputs')]
# MTPSL / SSL / maps: view 1 = RSC(view 0)
train_pipeline_2views = [
    rsc,
    dict(type='MultiView', num_views=2, view_transforms=[rsc]),
    dict(type='PackMultiTaskInputs')
]
# JTR: views 1, 2 = independent RSC(view 0), RandAugment-style ImgAugment
# applied to every view independently
train_pipeline_3views = [
    rsc,
    dict(type='MultiView', num_views=3, view_transforms=[rsc]),
    dict(type='ImgAugment', num_ops=2, magnitude=6),
    dict(type='PackMultiTaskInputs')
]
test_pipeline = [dict(type='PackMultiTaskInputs')]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        tasks=tasks,
        partial_labels=partial_labels,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        tasks=tasks,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# the metric takes the tasks from the dataset (its dataset_meta)
val_evaluator = dict(type='MultiTaskMetric')
test_evaluator = val_evaluator
