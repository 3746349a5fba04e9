# Copyright (c) mtlpartial contributors. All rights reserved.
"""Metric depth or inverse depth."""
import math
from typing import Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mtlpartial.registry import TASKS
from .base_task import BaseTask, as_hwc, check_finite, masked_mean_per_sample


@TASKS.register_module()
class DepthTask(BaseTask):
    """Metric depth (or inverse depth), 0 marks invalid pixels.

    Args:
        name (str): task name.
        inverse (bool): ground truth is inverse depth (Cityscapes disparity).
            When the image is zoomed in by ``s``, depth is divided by ``s``
            (MTAN RandomScaleCrop) and inverse depth is *multiplied* by
            ``s``. The official MTPSL/JTR Cityscapes loaders divide inverse
            depth too; that is a bug we fix (see docs/methods/common.md).
        stats (tuple[float, float], optional): mean and std of valid
            depth, used by the CDF encoding (JTR's ``Φ``). The official JTR
            code hard-codes the NYUv2 values (2.3618, 1.5876) and reuses
            them on Cityscapes inverse depth, where ``Φ`` is then almost
            constant (bug). Here they are per dataset: the NYUv2 configs
            set the official values, others measure them with
            ``tools/misc/depth_stats.py``. None: the CDF encoding raises.
        loss (str): 'l1' (masked L1, all three papers). Defaults to 'l1'.
        loss_weight (float): Defaults to 1.0.
    """
    kind = 'depth'
    gt_channels = 1
    gt_interp = 'nearest'
    primary_metric = 'abs_err'
    higher_is_better = False

    def __init__(self,
                 name: str,
                 inverse: bool = False,
                 stats: Optional[Sequence[float]] = None,
                 loss: str = 'l1',
                 loss_weight: float = 1.0) -> None:
        super().__init__(name, loss_weight)
        if loss != 'l1':
            raise ValueError(f'task "{name}": unknown depth loss {loss!r}')
        if stats is not None and (len(stats) != 2 or float(stats[1]) <= 0):
            raise ValueError(f'task "{name}": stats must be (mean, std>0), '
                             f'got {stats}')
        self.inverse = bool(inverse)
        self.stats = None if stats is None else (float(stats[0]),
                                                 float(stats[1]))

    @property
    def num_outputs(self) -> int:
        return 1

    def valid_mask(self, gt: Tensor) -> Tensor:
        return gt != 0

    def validate_gt(self, gt: np.ndarray, where: str) -> np.ndarray:
        gt = as_hwc(gt, 1, where).astype(np.float32)
        check_finite(gt, where)
        if (gt < 0).any():
            raise ValueError(f'{where}: depth of task "{self.name}" must be '
                             f'>= 0 (0 = invalid), got min {gt.min():.4g}')
        return gt

    def rescale_gt(self, gt: np.ndarray, scale: float) -> np.ndarray:
        return gt * scale if self.inverse else gt / scale

    def loss(self, pred: Tensor, gt: Tensor) -> Tensor:
        return masked_mean_per_sample((pred.float() - gt).abs(), gt != 0)

    def cdf(self, x: Tensor) -> Tensor:
        """Normal CDF with the dataset's depth statistics (JTR's Φ)."""
        if self.stats is None:
            raise ValueError(
                f'task "{self.name}": DepthTask.stats (mean, std of valid '
                'depth) must be set for the CDF encoding; measure them with '
                'python tools/misc/depth_stats.py CONFIG')
        mean, std = self.stats
        return 0.5 * (1 + torch.erf((x - mean) / (std * math.sqrt(2.0))))

    def encode_pred(self, pred: Tensor, mode: str = 'soft',
                    method: str = 'cdf', **kwargs) -> Tensor:
        """Encode depth. ``method='cdf'``: JTR's Φ. ``method='max'``: MTPSL's
        per-image max normalisation, taken after a ReLU: the official code
        divides by ``max + 1e-12`` of the raw prediction, which flips sign
        or explodes when all predictions are <= 0 (bug, fixed here)."""
        out = pred if mode != 'hard' else pred.detach()
        if method == 'cdf':
            return self.cdf(out.float()).to(pred.dtype)
        if method == 'max':
            out = F.relu(out)
            peak = out.flatten(1).amax(1).view(-1, 1, 1, 1)
            return out / (peak + 1e-12)
        raise ValueError(f"unknown depth encoding {method!r} ('cdf'|'max')")

    def encode_gt(self, gt: Tensor, method: str = 'cdf', **kwargs) -> Tensor:
        if method == 'cdf':
            return self.cdf(gt.float())
        if method == 'max':
            peak = gt.flatten(1).amax(1).view(-1, 1, 1, 1)
            return gt / (peak + 1e-12)
        raise ValueError(f"unknown depth encoding {method!r} ('cdf'|'max')")

    def extra_repr(self) -> Dict:
        return dict(inverse=self.inverse, stats=self.stats)
