# DGR protocol: SGD lr 0.1, momentum 0.9, wd 1e-4, cosine over 300 epochs
optim_wrapper = dict(
    type='MultiTaskOptimWrapper',
    constructor='MultiTaskOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
    balancer=dict(type='EW'))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=300, by_epoch=True, eta_min=0)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
