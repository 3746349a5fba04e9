# Copyright (c) mtlpartial contributors. All rights reserved.
"""Random inputs for tests, benchmarks and complexity counts."""
from .fake_data import (fake_multitask_batch, fake_packed_batch,
                        label_pattern, random_gt)

__all__ = [
    'random_gt', 'label_pattern', 'fake_packed_batch', 'fake_multitask_batch'
]
