# MTPSL protocol: Adam lr 1e-4, StepLR(step 100 epochs, gamma 0.5), 200 epochs
optim_wrapper = dict(
    type='MultiTaskOptimWrapper',
    constructor='MultiTaskOptimWrapperConstructor',
    optimizer=dict(type='Adam', lr=1e-4),
    balancer=dict(type='EW'))
param_scheduler = [
    dict(type='StepLR', step_size=100, gamma=0.5, by_epoch=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
