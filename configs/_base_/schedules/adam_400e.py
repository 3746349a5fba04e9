# JTR protocol: Adam lr 1e-4, StepLR(step 200 epochs, gamma 0.5), 400 epochs
optim_wrapper = dict(
    type='MultiTaskOptimWrapper',
    constructor='MultiTaskOptimWrapperConstructor',
    optimizer=dict(type='Adam', lr=1e-4),
    balancer=dict(type='EW'))
param_scheduler = [
    dict(type='StepLR', step_size=200, gamma=0.5, by_epoch=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=400, val_interval=20)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
