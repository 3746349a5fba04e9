# Copyright (c) mtlpartial contributors. All rights reserved.
from .multitask_distributed import (MultiTaskDistributedWrapper,
                                    broadcast_module_state)

__all__ = ['MultiTaskDistributedWrapper', 'broadcast_module_state']
