# Copyright (c) mtlpartial contributors. All rights reserved.
from .base_task import BaseTask, LabelTask, masked_mean_per_sample
from .binary_task import BinaryTask
from .builder import build_tasks, task_cfg_list
from .depth_task import DepthTask
from .normal_task import NormalTask
from .semseg_task import SemSegTask, gumbel_softmax_st

__all__ = [
    'BaseTask', 'LabelTask', 'SemSegTask', 'DepthTask', 'NormalTask',
    'BinaryTask', 'build_tasks', 'task_cfg_list', 'masked_mean_per_sample',
    'gumbel_softmax_st'
]
