default_scope = 'mtlpartial'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
# TensorBoard: vis_backends = [dict(type='LocalVisBackend'),
#                              dict(type='TensorboardVisBackend')]
# titled multi-task panels (MultiTaskVisualizationHook, the inferencer),
# handed to every vis backend
visualizer = dict(
    type='MultiTaskLocalVisualizer',
    vis_backends=vis_backends,
    name='visualizer')
log_processor = dict(by_epoch=True, window_size=10)
log_level = 'INFO'
load_from = None
resume = False
# mtlpartial syncs gradients itself (SUM of globally normalised losses).
# mmengine looks wrappers up in its root registry: use the scoped name
model_wrapper_cfg = dict(type='mtlpartial.MultiTaskDistributedWrapper')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='MultiTaskVisualizationHook', draw=False))
custom_hooks = [
    dict(type='RNGStateHook'),
    dict(type='SaveLabelMaskHook'),
    # warns when a regularizer's joint space collapses; reads the diagnostics
    # logged every model.train_cfg.diagnostics_interval iterations
    dict(type='RegularizerDiagnosticsHook')
]
randomness = dict(seed=0)
