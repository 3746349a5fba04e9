# Copyright (c) mtlpartial contributors. All rights reserved.
"""Semantic (or part) segmentation."""
import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mtlpartial.registry import TASKS
from .base_task import LabelTask, as_hwc, check_finite, masked_mean_per_sample


def gumbel_softmax_st(logits: Tensor, tau: float = 1.0) -> Tensor:
    """Straight-through hard Gumbel-softmax over dim 1, computed in fp32.

    The uniform noise is clamped away from 0 and 1, so the sample is always
    finite (the official MTPSL/JTR code re-samples while NaN instead).
    """
    x = logits.float()
    u = torch.rand_like(x).clamp_(1e-10, 1.0 - 1e-7)
    gumbels = -torch.log(-torch.log(u))
    soft = ((x + gumbels) / tau).softmax(dim=1)
    index = soft.argmax(dim=1, keepdim=True)
    hard = torch.zeros_like(soft).scatter_(1, index, 1.0)
    return (hard - soft.detach() + soft).to(logits.dtype)


@TASKS.register_module()
class SemSegTask(LabelTask):
    """Semantic (or part) segmentation with ``num_classes`` classes.

    Ground truth is int64 class ids; ``ignore_index`` marks unlabelled
    pixels. Loaders map the MTAN convention (-1) to ``ignore_index``.

    Args:
        name (str): task name.
        num_classes (int): number of classes.
        ignore_index (int): label of ignored pixels. Defaults to 255.
        class_names (Sequence[str], optional): for logs and palettes.
        loss_weight (float): Defaults to 1.0.
        class_weight (Sequence[float], optional): per-class weights of the
            cross-entropy (e.g. median-frequency balancing). The per-sample
            loss is then ``Σ_p w(y_p) CE_p / Σ_p w(y_p)`` over the valid
            pixels (torch's weighted mean, per sample). Defaults to None
            (unweighted mean).
    """
    kind = 'semseg'
    gt_channels = 1
    gt_interp = 'nearest'
    primary_metric = 'mIoU'
    higher_is_better = True

    def __init__(self,
                 name: str,
                 num_classes: int,
                 ignore_index: int = 255,
                 class_names: Optional[Sequence[str]] = None,
                 loss_weight: float = 1.0,
                 class_weight: Optional[Sequence[float]] = None) -> None:
        super().__init__(name, ignore_index, loss_weight)
        if int(num_classes) < 2:
            raise ValueError(f'task "{name}": num_classes must be >= 2, got '
                             f'{num_classes}')
        self.num_classes = int(num_classes)
        self.class_weight: Optional[Tuple[float, ...]] = None
        if class_weight is not None:
            weights = tuple(float(w) for w in class_weight)
            if len(weights) != self.num_classes or \
                    not all(math.isfinite(w) and w > 0 for w in weights):
                raise ValueError(
                    f'task "{name}": class_weight must hold {num_classes} '
                    f'positive finite weights, got {list(class_weight)}')
            self.class_weight = weights
        self.class_names = tuple(class_names) if class_names else tuple(
            str(i) for i in range(self.num_classes))

    @property
    def num_outputs(self) -> int:
        return self.num_classes

    def to_prediction(self, pred: Tensor) -> Tensor:
        return pred.argmax(dim=1, keepdim=True)

    def validate_gt(self, gt: np.ndarray, where: str) -> np.ndarray:
        gt = as_hwc(gt, 1, where)
        if gt.dtype.kind == 'f':
            check_finite(gt, where)
            if not np.all(gt == np.round(gt)):
                raise ValueError(f'{where}: segmentation labels of task '
                                 f'"{self.name}" must be integers')
        gt = gt.astype(np.int64)
        gt[gt == -1] = self.ignore_index  # MTAN convention
        bad = (gt != self.ignore_index) & ((gt < 0) | (gt >= self.num_classes))
        if bad.any():
            values = np.unique(gt[bad])[:10].tolist()
            raise ValueError(
                f'{where}: label out of range for task "{self.name}": '
                f'values {values} not in [0, {self.num_classes - 1}] and not '
                f'the ignore index {self.ignore_index} (or -1)')
        return gt

    def loss(self, pred: Tensor, gt: Tensor) -> Tensor:
        target = gt[:, 0].long()
        ce = F.cross_entropy(
            pred.float(), target, ignore_index=self.ignore_index,
            reduction='none')
        valid = target != self.ignore_index
        if self.class_weight is None:
            return masked_mean_per_sample(ce, valid)
        table = ce.new_tensor(self.class_weight)
        weight = table[torch.where(valid, target, 0)] * valid
        n = ce.shape[0]
        return (ce * weight).reshape(n, -1).sum(1) / \
            weight.reshape(n, -1).sum(1).clamp(min=1e-12)

    def encode_pred(self, pred: Tensor, mode: str = 'soft', tau: float = 1.0,
                    **kwargs) -> Tensor:
        if mode == 'gumbel':
            return gumbel_softmax_st(pred, tau)
        if mode == 'hard':
            index = pred.argmax(dim=1, keepdim=True)
            return torch.zeros_like(pred).scatter_(1, index, 1.0)
        if mode == 'soft':
            return pred.float().softmax(dim=1).to(pred.dtype)
        raise ValueError(f'unknown seg encoding mode {mode!r} '
                         "(expected 'soft', 'gumbel' or 'hard')")

    def encode_gt(self, gt: Tensor, **kwargs) -> Tensor:
        target = gt[:, 0].long()
        valid = target != self.ignore_index
        onehot = F.one_hot(
            torch.where(valid, target, torch.zeros_like(target)),
            self.num_classes).permute(0, 3, 1, 2).float()
        return onehot * valid[:, None].float()

    def extra_repr(self) -> Dict:
        extra = dict(num_classes=self.num_classes,
                     ignore_index=self.ignore_index)
        if self.class_weight is not None:
            extra['class_weight'] = self.class_weight
        return extra
