# Copyright (c) mtlpartial contributors. All rights reserved.
"""Inference for users: ``init_model`` / ``inference_model`` and the
registered :class:`MultiTaskInferencer`."""
from .image_inputs import load_image
from .inference import (CheckpointMismatchError, inference_model, init_model,
                        load_weights)
from .multitask_inferencer import MultiTaskInferencer

__all__ = [
    'init_model', 'inference_model', 'load_image', 'load_weights',
    'CheckpointMismatchError', 'MultiTaskInferencer'
]
