# Copyright (c) mtlpartial contributors. All rights reserved.
from .task_balanced_sampler import TaskBalancedSampler, find_label_mask

__all__ = ['TaskBalancedSampler', 'find_label_mask']
