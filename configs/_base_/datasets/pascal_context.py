# PASCAL-Context multi-task (Vandenhende's PASCAL_MT layout, data/PASCAL_MT):
# semseg (21), human_parts (7), saliency, normals, edges; 4998 train / 5105
# val. Vandenhende recipe: flip + fixed resize 512x512, ImageNet mean/std,
# loss weights semseg 1, parts 2, sal 5, edge 50, normals 10.
dataset_type = 'PascalContextDataset'
data_root = 'data/PASCAL_MT'
# a list keeps the task order (dict keys are sorted when mmengine dumps a
# config); the order is the task order everywhere (masks, heads, losses)
tasks = [
    dict(name='semseg', type='SemSegTask', num_classes=21),
    dict(name='human_parts', type='SemSegTask', num_classes=7, loss_weight=2.0),
    dict(name='sal', type='BinaryTask', metric='maxF', loss_weight=5.0),
    dict(name='normals', type='NormalTask', loss='l1', loss_weight=10.0),
    dict(
        name='edge',
        type='BinaryTask',
        pos_weight=0.95,
        metric='odsF',
        loss_weight=50.0)
]
partial_labels = dict(type='Full')
# The partial-label settings that configs pick (docs/partial_labels.md):
# the official MTPSL splits (put them under data/mtpsl_label_masks/); no
# published Δ% baselines
label_settings = dict(
    onelabel=dict(
        type='OfficialMask',
        file='data/mtpsl_label_masks/pascal_onelabel.npy'),
    random=dict(
        type='OfficialMask',
        file='data/mtpsl_label_masks/pascal_randomlabels.npy'))
size = (512, 512)
flip = dict(type='RandomFlip', prob=0.5)
resize = dict(type='Resize', size=size)
rsc = dict(type='RandomScaleCrop', scales=(1.0, 1.2, 1.5))
train_pipeline = [flip, resize, dict(type='PackMultiTaskInputs')]
train_pipeline_2views = [
    flip, resize,
    dict(type='MultiView', num_views=2, view_transforms=[rsc]),
    dict(type='PackMultiTaskInputs')
]
train_pipeline_3views = [
    flip, resize,
    dict(type='MultiView', num_views=3, view_transforms=[rsc]),
    dict(type='ImgAugment', num_ops=2, magnitude=6),
    dict(type='PackMultiTaskInputs')
]
test_pipeline = [resize, dict(type='PackMultiTaskInputs')]
train_dataloader = dict(
    batch_size=6,
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
    batch_size=6,
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
