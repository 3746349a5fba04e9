# Copyright (c) mtlpartial contributors. All rights reserved.
from .compact_stats import SparseStat, pack_stats, unpack_stats
from .meter_builder import build_meter
from .multitask_metric import MultiTaskMetric

__all__ = [
    'MultiTaskMetric', 'build_meter', 'pack_stats', 'unpack_stats',
    'SparseStat'
]
