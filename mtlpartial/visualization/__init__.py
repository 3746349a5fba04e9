# Copyright (c) mtlpartial contributors. All rights reserved.
from .colorize import (colorize, colorize_binary, colorize_depth,
                       colorize_normals, colorize_seg, seg_palette)
from .multitask_visualizer import MultiTaskLocalVisualizer, to_rgb_uint8

__all__ = [
    'colorize', 'colorize_seg', 'colorize_depth', 'colorize_normals',
    'colorize_binary', 'seg_palette', 'MultiTaskLocalVisualizer',
    'to_rgb_uint8'
]
