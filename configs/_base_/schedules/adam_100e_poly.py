# Vandenhende PASCAL recipe: Adam lr 1e-4, wd 1e-4, poly schedule, 100 epochs
optim_wrapper = dict(
    type='MultiTaskOptimWrapper',
    constructor='MultiTaskOptimWrapperConstructor',
    optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4),
    balancer=dict(type='EW'))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0, by_epoch=True, end=100)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
