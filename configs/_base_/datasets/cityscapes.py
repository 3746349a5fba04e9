# Cityscapes, MTAN .npy layout (data/cityscapes/{train,val}/{image,label_7,
# label_19,depth}), 128x256, 7-class seg + inverse depth (MTPSL / JTR).
dataset_type = 'CityscapesDataset'
data_root = 'data/cityscapes'
# a list keeps the task order (dict keys are sorted when mmengine dumps a
# config); the order is the task order everywhere (masks, heads, losses)
tasks = [
    dict(name='semseg', type='SemSegTask', num_classes=7),
    # inverse depth: RandomScaleCrop multiplies it by the zoom. JTR needs
    # the CDF statistics of your copy (the official code reuses NYUv2's):
    #   python tools/misc/depth_stats.py configs/supervised/cityscapes_onelabel.py
    # and add stats=(mean, std) here.
    dict(name='depth', type='DepthTask', inverse=True)
]
partial_labels = dict(type='Full')
# The partial-label setting that configs pick (docs/partial_labels.md): the
# official MTPSL/JTR mask file (put it under data/mtpsl_label_masks/), and
# its Δ% baseline: supervised partial-label MTL (JTR README / poster)
label_settings = dict(
    onelabel=dict(
        type='OfficialMask',
        file='data/mtpsl_label_masks/cityscapes_onelabel.pth'))
baselines = dict(onelabel={'semseg/mIoU': 69.50, 'depth/abs_err': 0.0186})
rsc = dict(type='RandomScaleCrop', scales=(1.0, 1.2, 1.5))
flip = dict(type='RandomFlip', prob=0.5)
train_pipeline = [flip, rsc, dict(type='PackMultiTaskInputs')]
train_pipeline_2views = [
    flip, rsc,
    dict(type='MultiView', num_views=2, view_transforms=[flip, rsc]),
    dict(type='PackMultiTaskInputs')
]
train_pipeline_3views = [
    flip, rsc,
    dict(type='MultiView', num_views=3, view_transforms=[flip, rsc]),
    dict(type='ImgAugment', num_ops=2, magnitude=6),
    dict(type='PackMultiTaskInputs')
]
test_pipeline = [dict(type='PackMultiTaskInputs')]
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        num_classes=7,
        tasks=tasks,
        partial_labels=partial_labels,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        num_classes=7,
        tasks=tasks,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# the metric takes the tasks from the dataset (its dataset_meta)
val_evaluator = dict(type='MultiTaskMetric')
test_evaluator = val_evaluator
