# Copyright (c) mtlpartial contributors. All rights reserved.
"""Saliency (binary map) metrics: maxF over thresholds and IoU."""
from typing import Dict, Optional, Sequence

import torch
from torch import Tensor

from .base_meter import (BinaryMapMeter, StateDict, counts_at_least,
                         per_sample_histogram, safe_div)

#: default thresholds, ``0.05, 0.10, ..., 0.95`` (``threshold_step=0.05``).
DEFAULT_SAL_THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 20))


class SaliencyMeter(BinaryMapMeter):
    """maxF (F-beta maximised over thresholds) and IoU of a probability map.

    A pixel is predicted positive at threshold ``t`` when ``p >= t``.
    With ``average='dataset'`` (default) true positives, predicted positives
    and actual positives are pooled over the evaluation set for every
    threshold, then ``P = TP/PP``, ``R = TP/AP`` and
    ``F = (1 + β²)·P·R / (β²·P + R)``; ``maxF`` is the maximum over
    thresholds. This is ``SaliencyMeter(threshold_step=0.05,
    beta_squared=0.3)`` of the ASTMT-derived PASCAL codebases (InvPT,
    TaskPrompter, MTLoRA).

    With ``average='image'`` precision, recall and IoU are computed per
    image and averaged over images first (``F`` from the mean precision and
    mean recall), like ``eval_sal``/``SaliencyMeter`` of Vandenhende's
    Multi-Task-Learning-PyTorch; that code uses β² = 1, thresholds
    ``linspace(0.2, 0.9, 15)``, strict ``p > t``, and an image with neither
    predicted nor true positives has IoU 1; pass
    ``average='image', beta_squared=1.0,
    thresholds=numpy.linspace(0.2, 0.9, 15)`` to follow it (up to ``>=``).

    Outputs (percent): ``maxF``; ``IoU`` at ``iou_threshold``; ``maxIoU``
    over the thresholds (Vandenhende's saliency "mIoU"). Pixels whose ground
    truth is ``ignore_index`` are skipped; images without valid pixels do
    not count in the image average.

    Args:
        thresholds (Sequence[float], optional): in [0, 1]. Defaults to
            ``0.05, 0.10, ..., 0.95``.
        beta_squared (float): β² of the F-measure. Defaults to 0.3.
        average (str): 'dataset' or 'image'. Defaults to 'dataset'.
        iou_threshold (float): threshold of ``IoU``. Defaults to 0.5.
        ignore_index (int): Defaults to 255.
    """

    higher_is_better = dict(maxF=True, IoU=True, maxIoU=True)
    default_thresholds = DEFAULT_SAL_THRESHOLDS

    def __init__(self,
                 thresholds: Optional[Sequence[float]] = None,
                 beta_squared: float = 0.3,
                 average: str = 'dataset',
                 iou_threshold: float = 0.5,
                 ignore_index: int = 255) -> None:
        if average not in ('dataset', 'image'):
            raise ValueError("SaliencyMeter: average must be 'dataset' or "
                             f"'image', got {average!r}")
        if float(beta_squared) <= 0:
            raise ValueError('SaliencyMeter: beta_squared must be > 0')
        self.beta_squared = float(beta_squared)
        self.average = average
        self.iou_threshold = float(iou_threshold)
        super().__init__(thresholds, ignore_index)

    def empty_state(self) -> StateDict:
        t = self.thresholds.numel()
        i64, f64 = dict(dtype=torch.int64), dict(dtype=torch.float64)
        return dict(
            tp=torch.zeros(t, **i64), pp=torch.zeros(t, **i64),
            ap=torch.zeros((), **i64),
            tp_iou=torch.zeros((), **i64), pp_iou=torch.zeros((), **i64),
            images=torch.zeros((), **i64),
            img_prec=torch.zeros(t, **f64), img_rec=torch.zeros(t, **f64),
            img_iou=torch.zeros(t, **f64), img_iou_at=torch.zeros((), **f64))

    def sample_stats(self, pred: Tensor, gt: Tensor) -> StateDict:
        pred, valid, pos = self.binary_inputs(pred, gt)
        thr = self.thresholds.to(pred.device, pred.dtype)
        bucket = torch.bucketize(pred, thr, right=True)
        nbins = thr.numel() + 1
        pp = counts_at_least(per_sample_histogram(bucket, valid, nbins))
        tp = counts_at_least(per_sample_histogram(bucket, pos, nbins))
        ap = pos.flatten(1).sum(1)
        above = pred >= self.iou_threshold
        tp_iou = (above & pos).flatten(1).sum(1)
        pp_iou = (above & valid).flatten(1).sum(1)
        has_valid = valid.flatten(1).any(1)
        # per-image precision / recall / IoU (for average='image')
        ap_ = ap[:, None]
        img_prec = safe_div(tp, pp)
        img_rec = safe_div(tp, ap_.expand_as(tp))
        union = pp + ap_ - tp
        img_iou = torch.where(union == 0, torch.ones_like(img_prec),
                              safe_div(tp, union))
        union_at = pp_iou + ap - tp_iou
        img_iou_at = torch.where(union_at == 0,
                                 torch.ones_like(tp_iou, dtype=torch.float64),
                                 safe_div(tp_iou, union_at))
        w = has_valid.double()
        return dict(
            tp=tp, pp=pp, ap=ap, tp_iou=tp_iou, pp_iou=pp_iou,
            images=has_valid.long(),
            img_prec=img_prec * w[:, None], img_rec=img_rec * w[:, None],
            img_iou=img_iou * w[:, None], img_iou_at=img_iou_at * w)

    def f_measure(self, precision: Tensor, recall: Tensor) -> Tensor:
        b2 = self.beta_squared
        return safe_div((1 + b2) * precision * recall, b2 * precision + recall)

    def compute(self) -> Dict[str, float]:
        s = self.state
        if self.average == 'dataset':
            if int(s['ap']) + int(s['pp'][0]) == 0:
                return self.nan_metrics()
            precision = safe_div(s['tp'], s['pp'])
            recall = safe_div(s['tp'], s['ap'].expand_as(s['tp']))
            iou = safe_div(s['tp'], s['pp'] + s['ap'] - s['tp'])
            iou_at = safe_div(s['tp_iou'], s['pp_iou'] + s['ap'] - s['tp_iou'])
        else:
            n = int(s['images'])
            if n == 0:
                return self.nan_metrics()
            precision = s['img_prec'] / n
            recall = s['img_rec'] / n
            iou = s['img_iou'] / n
            iou_at = s['img_iou_at'] / n
        fscore = self.f_measure(precision, recall)
        return dict(
            maxF=float(fscore.max()) * 100,
            IoU=float(iou_at) * 100,
            maxIoU=float(iou.max()) * 100)
