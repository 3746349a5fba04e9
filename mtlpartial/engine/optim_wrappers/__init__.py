# Copyright (c) mtlpartial contributors. All rights reserved.
from .multitask_constructor import MultiTaskOptimWrapperConstructor
from .multitask_optim_wrapper import (MultiTaskAmpOptimWrapper,
                                      MultiTaskOptimWrapper,
                                      MultiTaskOptimWrapperMixin)
from .task_gradients import split_like, task_jacobian

__all__ = [
    'MultiTaskOptimWrapper', 'MultiTaskAmpOptimWrapper',
    'MultiTaskOptimWrapperMixin', 'MultiTaskOptimWrapperConstructor',
    'task_jacobian', 'split_like'
]
