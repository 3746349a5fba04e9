# Copyright (c) mtlpartial contributors. All rights reserved.
"""A PNG panel per image: the input, then ground truth over prediction for
every task."""
from typing import Dict, Optional

import numpy as np
import torch

from mtlpartial.structures import MultiTaskDataSample
from mtlpartial.tasks import BaseTask
from .colorize import colorize


def _np(x) -> np.ndarray:
    return x.detach().cpu().float().numpy() if torch.is_tensor(x) else x


def render_panel(image: np.ndarray, sample: MultiTaskDataSample,
                 tasks: Dict[str, BaseTask],
                 pad: int = 2) -> np.ndarray:
    """Render one sample.

    Args:
        image: ``(3, H, W)`` float image in [0, 1] (view 0).
        sample: a data sample with ``pred_<task>`` and, for labelled tasks,
            ``gt_<task>`` (unlabelled tasks show an empty ground-truth cell).
        tasks: the task specs.

    Returns:
        np.ndarray: ``(2H + pad, (K + 1)(W + pad), 3)`` uint8 RGB.
    """
    img = (np.clip(np.transpose(_np(image), (1, 2, 0)), 0, 1) * 255).astype(
        np.uint8)
    h, w = img.shape[:2]
    blank = np.full((h, w, 3), 32, np.uint8)
    top, bottom = [img], [blank]
    for name, task in tasks.items():
        gt: Optional[np.ndarray] = None
        if f'gt_{name}' in sample:
            gt = _np(sample.get_gt(name))[0]
        pred = _np(sample.get_pred(name)) if f'pred_{name}' in sample \
            else None
        depth_range = None
        if task.kind == 'depth' and gt is not None and (gt > 0).any():
            depth_range = (float(gt[gt > 0].min()), float(gt[gt > 0].max()))
        cells = []
        for value in (gt, pred):
            if value is None:
                cells.append(blank)
                continue
            cell = colorize(task, value, depth_range)
            if cell.shape[:2] != (h, w):
                import cv2
                cell = cv2.resize(cell, (w, h),
                                  interpolation=cv2.INTER_NEAREST)
            cells.append(cell)
        top.append(cells[0])
        bottom.append(cells[1])

    def row(cells):
        sep = np.zeros((h, pad, 3), np.uint8)
        return np.concatenate(
            [c for cell in cells for c in (cell, sep)], axis=1)

    return np.concatenate(
        [row(top), np.zeros((pad, row(top).shape[1], 3), np.uint8),
         row(bottom)], axis=0)
