# Copyright (c) mtlpartial contributors. All rights reserved.
"""Depth (or inverse depth) errors, pooled over all valid pixels."""
import math
from typing import Dict, Optional

import torch
from torch import Tensor

from .base_meter import PixelPooledMeter, StateDict

#: lower bound of the prediction inside logarithms and ratios.
LOG_EPS = 1e-9


class DepthMeter(PixelPooledMeter):
    """Pixel-pooled depth errors over valid pixels (``gt > 0``).

    With ``p`` the prediction, ``g`` the ground truth and ``n`` the number of
    valid pixels of the whole evaluation set:

    * ``abs_err`` = Σ|p − g| / n (the "abs err" of MTPSL/JTR/DGR);
    * ``abs_rel`` = Σ(|p − g| / g) / n;
    * ``rmse`` = sqrt(Σ(p − g)² / n);
    * ``log_rmse`` = sqrt(Σ(log g − log p̃)² / n);
    * ``delta1/2/3`` = 100 · #{max(p̃/g, g/p̃) < 1.25^k} / n,

    where ``p̃ = max(p, 1e-9)`` (logs and ratios need positive values).

    Every sum runs over pixels (not a mean of per-image or per-batch
    means), like MTPSL/JTR's ``DepthMeter``. Differences from it:

    * by default ``abs_err``/``abs_rel``/``rmse`` use the raw prediction;
      the official meter clamps ``p`` to ``>= 1e-9`` *before* the L1 error,
      which lowers the error of negative predictions. Pass
      ``clamp_pred=1e-9`` to reproduce it exactly. Both agree whenever the
      prediction is positive;
    * ``abs_rel`` and ``delta*`` are new (the official "rel" column is the
      RMSE, see docs/metrics.md).

    Args:
        clamp_pred (float, optional): clamp the prediction to at least this
            value before every error. Defaults to None (no clamp).
    """

    higher_is_better = dict(
        abs_err=False, abs_rel=False, rmse=False, log_rmse=False,
        delta1=True, delta2=True, delta3=True)

    def __init__(self, clamp_pred: Optional[float] = None) -> None:
        self.clamp_pred = None if clamp_pred is None else float(clamp_pred)
        super().__init__()

    def empty_state(self) -> StateDict:
        f64 = dict(dtype=torch.float64)
        return dict(
            count=torch.zeros((), dtype=torch.int64),
            abs=torch.zeros((), **f64),
            rel=torch.zeros((), **f64),
            sq=torch.zeros((), **f64),
            log_sq=torch.zeros((), **f64),
            delta=torch.zeros(3, dtype=torch.int64))

    def sample_stats(self, pred: Tensor, gt: Tensor) -> StateDict:
        # per-pixel terms in float32 (as the official meters), sums in
        # float64
        pred, gt = self.float_pair(pred, gt, 1, 1)
        if self.clamp_pred is not None:
            pred = pred.clamp(min=self.clamp_pred)
        valid = gt > 0
        safe_gt = torch.where(valid, gt, torch.ones_like(gt))
        err = (pred - gt).abs()
        pos = pred.clamp(min=LOG_EPS)
        log_diff = torch.log(safe_gt) - torch.log(pos)
        ratio = torch.maximum(pos / safe_gt, safe_gt / pos)
        thr = torch.tensor([1.25, 1.25**2, 1.25**3], device=pred.device,
                           dtype=torch.float64).view(1, 3, 1, 1)

        def total(x: Tensor) -> Tensor:
            return torch.where(valid, x, 0).flatten(1).sum(
                1, dtype=torch.float64)

        within = ((ratio.double() < thr) & valid).flatten(2).sum(2)
        return dict(
            count=valid.flatten(1).sum(1),
            abs=total(err),
            rel=total(err / safe_gt),
            sq=total(err * err),
            log_sq=total(log_diff * log_diff),
            delta=within)

    def pooled_metrics(self, s: StateDict, n: int) -> Dict[str, float]:
        out = dict(
            abs_err=float(s['abs']) / n,
            abs_rel=float(s['rel']) / n,
            rmse=math.sqrt(float(s['sq']) / n),
            log_rmse=math.sqrt(float(s['log_sq']) / n))
        for k in range(3):
            out[f'delta{k + 1}'] = float(s['delta'][k]) / n * 100
        return out
