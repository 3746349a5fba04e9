# Copyright (c) mtlpartial contributors. All rights reserved.
"""The example plugin: a depthwise-separable conv head and an edge-aware
depth smoothness regularizer, registered in the mtlpartial ``MODELS``
registry when this package is imported (``custom_imports`` in a config)."""
from .depthwise_separable_head import (DepthwiseSeparableConvHead,
                                       separable_block)
from .edge_aware_smoothness import EdgeAwareSmoothness, edge_aware_smoothness

__all__ = [
    'DepthwiseSeparableConvHead', 'separable_block', 'EdgeAwareSmoothness',
    'edge_aware_smoothness'
]
