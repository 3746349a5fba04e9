# Copyright (c) mtlpartial contributors. All rights reserved.
"""Turn task maps into RGB images (uint8, H x W x 3)."""
from typing import Optional

import numpy as np

from mtlpartial.tasks import BaseTask


def seg_palette(num_classes: int, seed: int = 3) -> np.ndarray:
    """A fixed palette of distinct colours, ``(num_classes, 3)`` uint8."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(40, 256, size=(max(num_classes, 1), 3))
    return palette.astype(np.uint8)


def colorize_seg(labels: np.ndarray, num_classes: int,
                 ignore_index: int = 255) -> np.ndarray:
    """Class-id map ``(H, W)`` → RGB; ignored pixels are black."""
    palette = seg_palette(num_classes)
    labels = labels.astype(np.int64)
    valid = (labels >= 0) & (labels < num_classes)
    out = np.zeros(labels.shape + (3, ), np.uint8)
    out[valid] = palette[labels[valid]]
    return out


def colorize_depth(depth: np.ndarray, vmin: Optional[float] = None,
                   vmax: Optional[float] = None) -> np.ndarray:
    """Depth ``(H, W)`` → RGB with the turbo-like matplotlib 'viridis' map;
    invalid (0) pixels are black."""
    import matplotlib
    valid = depth > 0
    if vmin is None:
        vmin = float(depth[valid].min()) if valid.any() else 0.0
    if vmax is None:
        vmax = float(depth[valid].max()) if valid.any() else 1.0
    norm = np.clip((depth - vmin) / max(vmax - vmin, 1e-6), 0, 1)
    rgb = matplotlib.colormaps['viridis'](norm)[..., :3]
    rgb = (rgb * 255).astype(np.uint8)
    rgb[~valid] = 0
    return rgb


def colorize_normals(normals: np.ndarray) -> np.ndarray:
    """Normals ``(3, H, W)`` in [-1, 1] → RGB as (n + 1) / 2; invalid (zero)
    vectors are black."""
    rgb = (np.transpose(normals, (1, 2, 0)) + 1) / 2
    out = (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    out[np.all(normals == 0, axis=0)] = 0
    return out


def colorize_binary(prob: np.ndarray) -> np.ndarray:
    """Probability / {0,1} map ``(H, W)`` → grey RGB (255 = ignore → red)."""
    ignore = prob == 255
    grey = (np.clip(prob, 0, 1) * 255).astype(np.uint8)
    out = np.repeat(grey[..., None], 3, axis=2)
    out[ignore] = (255, 0, 0)
    return out


def colorize(task: BaseTask, value: np.ndarray,
             depth_range: Optional[tuple] = None) -> np.ndarray:
    """Colourise a ``(C, H, W)`` prediction or ground truth of ``task``."""
    if task.kind == 'semseg':
        return colorize_seg(value[0], task.num_classes, task.ignore_index)
    if task.kind == 'depth':
        lo, hi = depth_range if depth_range else (None, None)
        return colorize_depth(value[0], lo, hi)
    if task.kind == 'normal':
        return colorize_normals(value)
    if task.kind == 'binary':
        return colorize_binary(value[0])
    raise ValueError(f'no colour map for task kind {task.kind!r}')
