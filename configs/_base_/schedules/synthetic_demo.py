# CPU demo schedule on the synthetic scenes (minutes on 2 cores)
optim_wrapper = dict(
    type='MultiTaskOptimWrapper',
    constructor='MultiTaskOptimWrapperConstructor',
    optimizer=dict(type='Adam', lr=2e-3),
    balancer=dict(type='EW'))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=12, by_epoch=True, eta_min=1e-4)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
