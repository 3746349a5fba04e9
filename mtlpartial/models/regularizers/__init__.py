# Copyright (c) mtlpartial contributors. All rights reserved.
from .base_regularizer import BaseRegularizer, RegularizerContext

__all__ = ['BaseRegularizer', 'RegularizerContext']
