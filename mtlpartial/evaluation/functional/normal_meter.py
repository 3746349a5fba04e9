# Copyright (c) mtlpartial contributors. All rights reserved.
"""Surface-normal angular errors, pooled over all valid pixels."""
import math
from typing import Dict, Sequence

import torch
from torch import Tensor

from .base_meter import PixelPooledMeter, StateDict, per_sample_histogram


def angle_error_deg(pred: Tensor, gt: Tensor) -> Tensor:
    """Angle in degrees between ``pred`` and ``gt`` along dim 1.

    Computed as ``atan2(|p x g|, p . g)``, which is exact for small angles
    (``acos`` of a float32 dot product cannot resolve angles below ~0.03°)
    and needs no normalisation of either vector. A zero-vector prediction
    has no direction; it gets 90°, the value ``acos(0)`` of the official
    meters.

    Args:
        pred: ``(N, 3, H, W)``.
        gt: ``(N, 3, H, W)``.

    Returns:
        Tensor: ``(N, 1, H, W)`` angles in ``[0, 180]``.
    """
    p0, p1, p2 = pred.unbind(1)
    g0, g1, g2 = gt.unbind(1)
    c0, c1, c2 = p1 * g2 - p2 * g1, p2 * g0 - p0 * g2, p0 * g1 - p1 * g0
    cross = torch.sqrt(c0 * c0 + c1 * c1 + c2 * c2).unsqueeze(1)
    dot = (pred * gt).sum(1, keepdim=True)
    deg = torch.rad2deg(torch.atan2(cross, dot))
    degenerate = pred.abs().sum(1, keepdim=True) == 0
    return torch.where(degenerate, torch.full_like(deg, 90.0), deg)


class NormalMeter(PixelPooledMeter):
    """Angular error statistics over valid pixels (gt not the zero vector).

    With ``a`` the per-pixel angle in degrees between prediction and ground
    truth, pooled over all valid pixels of the evaluation set:

    * ``mean`` = mean of ``a``; ``rmse`` = sqrt(mean of ``a²``);
    * ``median``: from a histogram of ``a`` with ``resolution``-degree bins
      (default 0.01°, 18,000 bins), the average of the centres of the bins
      holding the two middle order statistics; it is within
      ``resolution / 2`` of the exact (``numpy.median``) value;
    * ``'11.25'``, ``'22.5'``, ``'30'``: percentage of pixels with
      ``a < threshold`` (strict, as the official meters).

    Differences from MTPSL/JTR's ``NormalsMeter``: the official meter has no
    median (its "median" column is the RMSE, see docs/metrics.md); it marks
    pixels valid by ``sum(gt) != 0`` (a valid normal whose components sum
    to zero would be dropped) where this meter uses ``sum(|gt|) != 0``; and
    it uses ``acos`` of the dot product, assuming unit vectors, where this
    meter uses ``atan2`` (direction only, exact for small angles).

    Args:
        thresholds (Sequence[float]): accuracy thresholds in degrees.
            Defaults to (11.25, 22.5, 30).
        resolution (float): histogram bin width in degrees for the median.
            Defaults to 0.01.
    """

    def __init__(self,
                 thresholds: Sequence[float] = (11.25, 22.5, 30.0),
                 resolution: float = 0.01) -> None:
        thr = [float(t) for t in thresholds]
        if any(not 0 < t <= 180 for t in thr):
            raise ValueError('NormalMeter: thresholds must be in (0, 180] '
                             f'degrees, got {thr}')
        if not 0 < float(resolution) <= 1:
            raise ValueError('NormalMeter: resolution must be in (0, 1] '
                             f'degrees, got {resolution}')
        self.thresholds = tuple(thr)
        self.resolution = float(resolution)
        self.num_bins = int(math.ceil(180.0 / self.resolution))
        self.higher_is_better = dict(mean=False, median=False, rmse=False)
        for name in self.threshold_names:
            self.higher_is_better[name] = True
        super().__init__()

    @property
    def threshold_names(self) -> Sequence[str]:
        return tuple(f'{t:g}' for t in self.thresholds)

    def empty_state(self) -> StateDict:
        return dict(
            count=torch.zeros((), dtype=torch.int64),
            sum=torch.zeros((), dtype=torch.float64),
            sq=torch.zeros((), dtype=torch.float64),
            within=torch.zeros(len(self.thresholds), dtype=torch.int64),
            hist=torch.zeros(self.num_bins, dtype=torch.int64))

    def sample_stats(self, pred: Tensor, gt: Tensor) -> StateDict:
        pred, gt = self.float_pair(pred, gt, 3, 3)
        valid = gt.abs().sum(1, keepdim=True) > 0
        deg = angle_error_deg(pred, gt)
        thr = torch.tensor(self.thresholds, device=deg.device,
                           dtype=deg.dtype).view(1, -1, 1, 1)
        bins = (deg / self.resolution).long().clamp_(0, self.num_bins - 1)
        return dict(
            count=valid.flatten(1).sum(1),
            sum=torch.where(valid, deg, 0).flatten(1).sum(
                1, dtype=torch.float64),
            sq=torch.where(valid, deg.double()**2, 0).flatten(1).sum(1),
            within=((deg < thr) & valid).flatten(2).sum(2),
            hist=per_sample_histogram(bins, valid, self.num_bins))

    def median(self) -> float:
        """Median angle from the histogram (NaN if empty)."""
        hist = self.state['hist']
        n = int(hist.sum())
        if n == 0:
            return float('nan')
        cum = hist.cumsum(0)
        ranks = torch.tensor([(n + 1) // 2, n // 2 + 1], dtype=cum.dtype)
        bins = torch.searchsorted(cum, ranks).double()
        return float(((bins + 0.5) * self.resolution).mean())

    def pooled_metrics(self, s: StateDict, n: int) -> Dict[str, float]:
        out = dict(
            mean=float(s['sum']) / n,
            median=self.median(),
            rmse=math.sqrt(float(s['sq']) / n))
        for name, count in zip(self.threshold_names, s['within'].tolist()):
            out[name] = count / n * 100
        return out
