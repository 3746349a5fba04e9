# Copyright (c) mtlpartial contributors. All rights reserved.
"""Edge detection: ODS / OIS F-measure with a distance tolerance."""
import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .base_meter import (BinaryMapMeter, StateDict, counts_at_least,
                         per_sample_histogram, safe_div)

#: SEISM / BSDS thresholds 0.01, 0.02, ..., 0.99.
DEFAULT_EDGE_THRESHOLDS = tuple(round(0.01 * k, 2) for k in range(1, 100))


def disk_max_filter(x: Tensor, radius: float) -> Tensor:
    """Maximum of ``x`` over a disk of ``radius`` pixels around each pixel.

    The disk holds the offsets ``(dy, dx)`` with ``dy² + dx² <= radius²``;
    it is applied as one horizontal max-pool per row of the disk followed by
    vertical shifts, i.e. ``O(radius)`` batched ops. Outside the image
    counts as ``-inf``.

    Args:
        x: ``(N, 1, H, W)`` float tensor.
        radius: disk radius in pixels (>= 0).

    Returns:
        Tensor: same shape as ``x``.
    """
    r = int(math.floor(radius + 1e-9))
    if r <= 0:
        return x.clone()
    h = x.shape[-2]
    out = torch.full_like(x, float('-inf'))
    rows: Dict[int, Tensor] = {}
    for dy in range(-r, r + 1):
        half = int(math.floor(math.sqrt(max(radius**2 - dy**2, 0.0)) + 1e-9))
        if half not in rows:
            rows[half] = x if half == 0 else F.max_pool2d(
                x, (1, 2 * half + 1), stride=1, padding=(0, half))
        row = rows[half]
        if abs(dy) >= h:
            continue
        if dy >= 0:
            out[..., :h - dy, :] = torch.maximum(out[..., :h - dy, :],
                                                 row[..., dy:, :])
        else:
            out[..., -dy:, :] = torch.maximum(out[..., -dy:, :],
                                              row[..., :h + dy, :])
    return out


class EdgeMeter(BinaryMapMeter):
    """ODS and OIS F-measure of an edge probability map.

    For each threshold ``t`` a pixel is a predicted edge when ``p >= t``.
    With the tolerance ``r = max_dist * sqrt(H² + W²)`` pixels:

    * a predicted edge pixel is **matched** when a ground-truth edge pixel
      lies within distance ``r`` (``cntP``; ``sumP`` = predicted edges);
    * a ground-truth edge pixel is **recalled** when a predicted edge pixel
      lies within ``r`` (``cntR``; ``sumR`` = ground-truth edges).

    ``P = cntP/sumP``, ``R = cntR/sumR``, ``F = 2PR/(P + R)``. **ODS**: the
    counts are pooled over the dataset per threshold, ``odsF`` = the best F
    over thresholds. **OIS**: each image picks its own best threshold, the
    counts at those thresholds are pooled, ``oisF`` = their F. Values in
    percent. Pixels whose ground truth is ``ignore_index`` are skipped.

    This approximates SEISM / the BSDS benchmark (``correspondPixels``,
    ``maxDist = 0.0075`` of the diagonal), which (1) matches predicted and
    ground-truth pixels **one-to-one** by bipartite assignment, whereas here
    any number of predictions may match the same ground-truth pixel and vice
    versa (so P and R are upper bounds of SEISM's; thick edges are not
    penalised); (2) thins each binarised prediction to one-pixel width
    (``bwmorph thin``), which is not done here (apply non-maximum
    suppression before, as usual for edge evaluation); (3) refines the
    best F by interpolating the PR curve between thresholds, whereas here it
    is the maximum over the given thresholds.

    Args:
        thresholds (Sequence[float], optional): in [0, 1]. Defaults to
            ``0.01, ..., 0.99`` (99 thresholds, as SEISM).
        max_dist (float): tolerance as a fraction of the image diagonal.
            Defaults to 0.0075.
        ignore_index (int): Defaults to 255.
    """

    higher_is_better = dict(odsF=True, oisF=True)
    default_thresholds = DEFAULT_EDGE_THRESHOLDS

    def __init__(self,
                 thresholds: Optional[Sequence[float]] = None,
                 max_dist: float = 0.0075,
                 ignore_index: int = 255) -> None:
        if float(max_dist) < 0:
            raise ValueError(f'EdgeMeter: max_dist must be >= 0, got '
                             f'{max_dist}')
        self.max_dist = float(max_dist)
        super().__init__(thresholds, ignore_index)

    def empty_state(self) -> StateDict:
        t = self.thresholds.numel()
        i64 = dict(dtype=torch.int64)
        return dict(
            cnt_p=torch.zeros(t, **i64), sum_p=torch.zeros(t, **i64),
            cnt_r=torch.zeros(t, **i64), sum_r=torch.zeros((), **i64),
            ois=torch.zeros(4, **i64))

    def radius(self, height: int, width: int) -> float:
        """Matching tolerance in pixels for an image of this size."""
        return self.max_dist * math.hypot(height, width)

    def sample_stats(self, pred: Tensor, gt: Tensor) -> StateDict:
        """Per-sample ``cnt_p``, ``sum_p``, ``cnt_r`` ``(N, T)``, ``sum_r``
        ``(N,)`` and ``ois`` ``(N, 4)`` = (cntR, sumR, cntP, sumP) at the
        image's best threshold."""
        pred, valid, pos = self.binary_inputs(pred, gt)
        radius = self.radius(*pred.shape[-2:])
        near_gt = disk_max_filter(pos.float(), radius) > 0
        near_pred = disk_max_filter(
            torch.where(valid, pred, torch.full_like(pred, -1.0)), radius)
        thr = self.thresholds.to(pred.device, pred.dtype)
        nbins = thr.numel() + 1
        bucket = torch.bucketize(pred, thr, right=True)
        sum_p = counts_at_least(per_sample_histogram(bucket, valid, nbins))
        cnt_p = counts_at_least(
            per_sample_histogram(bucket, valid & near_gt, nbins))
        bucket_r = torch.bucketize(near_pred, thr, right=True)
        cnt_r = counts_at_least(per_sample_histogram(bucket_r, pos, nbins))
        sum_r = pos.flatten(1).sum(1)
        # OIS: every image at its own best threshold
        fscore = self.f_measure(cnt_p, sum_p, cnt_r, sum_r[:, None])
        best = fscore.argmax(1, keepdim=True)
        ois = torch.stack([
            cnt_r.gather(1, best)[:, 0], sum_r,
            cnt_p.gather(1, best)[:, 0], sum_p.gather(1, best)[:, 0]
        ], 1)
        return dict(cnt_p=cnt_p, sum_p=sum_p, cnt_r=cnt_r, sum_r=sum_r,
                    ois=ois)

    @staticmethod
    def f_measure(cnt_p: Tensor, sum_p: Tensor, cnt_r: Tensor,
                  sum_r: Tensor) -> Tensor:
        """F1 from matched / total predicted and ground-truth edge counts."""
        precision = safe_div(cnt_p, sum_p)
        recall = safe_div(cnt_r, torch.as_tensor(sum_r).expand_as(cnt_r))
        return safe_div(2 * precision * recall, precision + recall)

    def compute(self) -> Dict[str, float]:
        s = self.state
        if int(s['sum_r']) + int(s['sum_p'][0]) == 0:
            return self.nan_metrics()
        ods = self.f_measure(s['cnt_p'], s['sum_p'], s['cnt_r'], s['sum_r'])
        o = s['ois']
        ois = self.f_measure(o[2], o[3], o[0], o[1])
        return dict(odsF=float(ods.max()) * 100, oisF=float(ois) * 100)
