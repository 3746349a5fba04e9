# Copyright (c) mtlpartial contributors. All rights reserved.
"""Hooks that act on the training data (registered in ``HOOKS``).

They live with the datasets, not in ``mtlpartial.engine``, so that data
flows one way: the engine imports nothing from the datasets package.
"""
from .mid_epoch_resume_hook import MidEpochResumeHook
from .save_label_mask_hook import SaveLabelMaskHook

__all__ = ['MidEpochResumeHook', 'SaveLabelMaskHook']
