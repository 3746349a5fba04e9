# Copyright (c) mtlpartial contributors. All rights reserved.
"""Surface normals."""
from typing import Dict, Sequence

import numpy as np
import torch.nn.functional as F
from torch import Tensor

from mtlpartial.registry import TASKS
from .base_task import BaseTask, as_hwc, check_finite, masked_mean_per_sample


@TASKS.register_module()
class NormalTask(BaseTask):
    """Surface normals (unit vectors, camera frame); zero vector = invalid.

    Loaded ground truth (training, ``tools/misc/check_dataset.py``) must
    be unit length: no valid vector longer than ``1 + unit_tolerance``, a
    median length of at least ``1 - unit_tolerance`` (refuses ``0.3 n`` or
    ``[0, 1]`` maps, not the few vectors shortened by resizing at edges).

    Args:
        name (str): task name.
        loss (str): 'cosine' (``1 - n̂·n``, MTPSL/JTR) or 'l1' (DGR /
            Auto-Lambda). Defaults to 'cosine'.
        loss_weight (float): Defaults to 1.0.
        unit_tolerance (float): allowed deviation from unit length.
            Defaults to 0.05 (8-bit normal maps are within 0.01).
    """
    kind = 'normal'
    gt_channels = 3
    gt_interp = 'bilinear'
    primary_metric = 'mean'
    higher_is_better = False

    def __init__(self, name: str, loss: str = 'cosine',
                 loss_weight: float = 1.0,
                 unit_tolerance: float = 0.05) -> None:
        super().__init__(name, loss_weight)
        if loss not in ('cosine', 'l1'):
            raise ValueError(f'task "{name}": normal loss must be cosine or '
                             f'l1, got {loss!r}')
        if not 0 < unit_tolerance < 1:
            raise ValueError(f'task "{name}": unit_tolerance must lie in '
                             f'(0, 1), got {unit_tolerance!r}')
        self.loss_type = loss
        self.unit_tolerance = float(unit_tolerance)

    @property
    def num_outputs(self) -> int:
        return 3

    def activate(self, raw: Tensor) -> Tensor:
        return F.normalize(raw.float(), dim=1, eps=1e-12).to(raw.dtype)

    def resize_pred(self, pred: Tensor, size: Sequence[int],
                    align_corners: bool = False) -> Tensor:
        """Bilinear, then back to unit length."""
        return F.normalize(
            super().resize_pred(pred, size, align_corners), dim=1, eps=1e-12)

    def valid_mask(self, gt: Tensor) -> Tensor:
        return gt.abs().sum(1, keepdim=True) != 0

    def validate_gt(self, gt: np.ndarray, where: str) -> np.ndarray:
        gt = as_hwc(gt, 3, where).astype(np.float32)
        check_finite(gt, where)
        if np.abs(gt).max(initial=0) > 1.001:
            raise ValueError(f'{where}: normals of task "{self.name}" must '
                             'be unit vectors in [-1, 1] (zero = invalid), '
                             f'got |max| {np.abs(gt).max():.4g}')
        norms = np.linalg.norm(gt[np.abs(gt).sum(2) != 0], axis=1)
        if norms.size:
            tol = self.unit_tolerance
            longest, median = float(norms.max()), float(np.median(norms))
            if longest > 1 + tol or median < 1 - tol:
                raise ValueError(
                    f'{where}: normals of task "{self.name}" must be unit '
                    'vectors (zero = invalid); the valid vectors have median '
                    f'length {median:.4g} and maximum {longest:.4g} '
                    f'(expected 1 ± {tol:g}; scaled or [0, 1]-encoded maps '
                    'must be converted, e.g. n = 2 * rgb / 255 - 1 and '
                    'normalised)')
        return gt

    def flip_gt(self, gt: np.ndarray) -> np.ndarray:
        gt = gt[:, ::-1].copy()
        gt[..., 0] = -gt[..., 0]
        return gt

    def loss(self, pred: Tensor, gt: Tensor) -> Tensor:
        valid = self.valid_mask(gt)
        if self.loss_type == 'cosine':
            dot = (pred.float() * gt).sum(1, keepdim=True)
            return 1 - masked_mean_per_sample(dot, valid)
        return masked_mean_per_sample((pred.float() - gt).abs(), valid)

    def encode_pred(self, pred: Tensor, mode: str = 'soft', **kwargs):
        out = pred if mode != 'hard' else pred.detach()
        return (out + 1) / 2

    def encode_gt(self, gt: Tensor, **kwargs) -> Tensor:
        return (gt + 1) / 2

    def extra_repr(self) -> Dict:
        return dict(loss=self.loss_type)
