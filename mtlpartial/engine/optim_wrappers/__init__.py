# Copyright (c) mtlpartial contributors. All rights reserved.
from .multitask_optim_wrapper import (MultiTaskAmpOptimWrapper,
                                      MultiTaskOptimWrapper,
                                      MultiTaskOptimWrapperMixin)
from .task_gradients import split_like, task_jacobian

__all__ = [
    'MultiTaskOptimWrapper', 'MultiTaskAmpOptimWrapper',
    'MultiTaskOptimWrapperMixin', 'task_jacobian', 'split_like'
]
