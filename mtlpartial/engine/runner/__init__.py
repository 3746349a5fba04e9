# Copyright (c) mtlpartial contributors. All rights reserved.
from .multitask_runner import MultiTaskRunner

__all__ = ['MultiTaskRunner']
