# Copyright (c) mtlpartial contributors. All rights reserved.
from .base_task import BaseTask, masked_mean_per_sample
from .builder import build_tasks, task_cfg_list
from .dense_tasks import (BinaryTask, DepthTask, NormalTask, SemSegTask,
                          gumbel_softmax_st)

__all__ = [
    'BaseTask', 'SemSegTask', 'DepthTask', 'NormalTask', 'BinaryTask',
    'build_tasks', 'task_cfg_list', 'masked_mean_per_sample',
    'gumbel_softmax_st'
]
