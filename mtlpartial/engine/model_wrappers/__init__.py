# Copyright (c) mtlpartial contributors. All rights reserved.
from .multitask_distributed import MultiTaskDistributedWrapper

__all__ = ['MultiTaskDistributedWrapper']
