# Copyright (c) mtlpartial contributors. All rights reserved.
from .multitask_data_preprocessor import MultiTaskDataPreprocessor

__all__ = ['MultiTaskDataPreprocessor']
