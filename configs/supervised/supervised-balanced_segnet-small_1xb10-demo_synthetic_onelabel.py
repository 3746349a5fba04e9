# Task-balanced batches: every batch has >= 1 labelled sample of every
# task whenever batch_size >= K (TaskBalancedSampler); the log reports the
# share of batches that missed each task.
_base_ = ['./supervised_segnet-small_1xb10-demo_synthetic_onelabel.py']
train_dataloader = dict(sampler=dict(
    _delete_=True, type='TaskBalancedSampler', shuffle=True,
    batch_size={{_base_.train_dataloader.batch_size}}))
# the inherited hooks plus mid-epoch resume (the sampler's order) and the
# batch-composition log
custom_hooks = _base_.custom_hooks + [
    dict(type='MidEpochResumeHook'),
    dict(type='BatchCompositionHook', interval=20)
]
