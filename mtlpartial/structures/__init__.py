# Copyright (c) mtlpartial contributors. All rights reserved.
from .multitask_data_sample import (LabelledTarget, MultiTaskBatch,
                                    MultiTaskDataSample,
                                    build_labelled_matrix)

__all__ = [
    'MultiTaskDataSample', 'MultiTaskBatch', 'LabelledTarget',
    'build_labelled_matrix'
]
