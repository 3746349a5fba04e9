# Copyright (c) mtlpartial contributors. All rights reserved.
from .multitask_data_sample import (LabelledTarget, MultiTaskBatch,
                                    MultiTaskDataSample,
                                    build_labelled_matrix)
from .multitask_losses import MultiTaskLosses

__all__ = [
    'MultiTaskDataSample', 'MultiTaskBatch', 'LabelledTarget',
    'build_labelled_matrix', 'MultiTaskLosses'
]
