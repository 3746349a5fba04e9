# Copyright (c) mtlpartial contributors. All rights reserved.
from .colorize import (colorize, colorize_binary, colorize_depth,
                       colorize_normals, colorize_seg, seg_palette)
from .multitask_panel import render_panel

__all__ = [
    'colorize', 'colorize_seg', 'colorize_depth', 'colorize_normals',
    'colorize_binary', 'seg_palette', 'render_panel'
]
