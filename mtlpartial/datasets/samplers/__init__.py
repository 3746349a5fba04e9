# Copyright (c) mtlpartial contributors. All rights reserved.
from .mid_epoch_resume_hook import MidEpochResumeHook
from .task_balanced_sampler import TaskBalancedSampler, find_label_mask

__all__ = ['TaskBalancedSampler', 'MidEpochResumeHook', 'find_label_mask']
