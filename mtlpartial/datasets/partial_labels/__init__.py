# Copyright (c) mtlpartial contributors. All rights reserved.
"""Partial-label (label-dropping) settings and label-mask files."""
from .base import BasePartialLabels, check_label_mask, check_task_names
from .builder import SETTING_ALIASES, build_partial_labels
from .file_settings import PASCAL_TASK_ALIASES, MaskFile, OfficialMask
from .mask_io import (OFFICIAL_TASK_ORDERS, LabelMask, default_task_order,
                      load_mask, save_mask)
from .random_settings import (Full, HalfLabels, OneLabel, RandomLabels,
                              Ratio, SeededPartialLabels, largest_remainder,
                              random_subsets)
from .summary import mask_summary, format_summary

__all__ = [
    'BasePartialLabels', 'SeededPartialLabels', 'check_label_mask',
    'check_task_names', 'Full',
    'OneLabel', 'RandomLabels', 'HalfLabels', 'Ratio', 'OfficialMask',
    'MaskFile', 'build_partial_labels', 'SETTING_ALIASES', 'LabelMask',
    'load_mask', 'save_mask', 'default_task_order', 'OFFICIAL_TASK_ORDERS',
    'PASCAL_TASK_ALIASES', 'largest_remainder', 'random_subsets',
    'mask_summary', 'format_summary'
]
