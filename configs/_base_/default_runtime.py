default_scope = 'mtlpartial'
# mmengine's Runner with a concise console (tools/train.py, tools/test.py)
runner_type = 'MultiTaskRunner'
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
# torch DDP calling the model's own train_step (losses normalised by the
# global labelled counts; docs/design.md). find_unused_parameters=True is
# needed under partial labels, broadcast_buffers=True keeps rank 0's BN
# statistics (or set sync_bn = 'torch', CUDA only). mmengine looks wrappers
# up in its root registry: use the scoped name
model_wrapper_cfg = dict(type='mtlpartial.MultiTaskDistributedWrapper',
                         find_unused_parameters=True,
                         broadcast_buffers=True)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='MultiTaskVisualizationHook', draw=False),
    # safety checks; default hooks, so they stay when a config replaces
    # custom_hooks: model/data/metric tasks agree (before the run starts);
    # on resume the optimizer settings and schedules follow the config
    task_check=dict(type='TaskConsistencyHook'),
    resume_check=dict(type='ResumeCheckHook'))
custom_hooks = [
    dict(type='RNGStateHook'),
    dict(type='SaveLabelMaskHook'),
    # warns when a regularizer's joint space collapses; reads the diagnostics
    # logged every model.train_cfg.diagnostics_interval iterations
    dict(type='RegularizerDiagnosticsHook')
]
randomness = dict(seed=0)
