# Copyright (c) mtlpartial contributors. All rights reserved.
"""Concrete task specs: segmentation, depth, surface normals, binary maps."""
import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mtlpartial.registry import TASKS
from .base_task import BaseTask, as_hwc, check_finite, masked_mean_per_sample


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
class SemSegTask(BaseTask):
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
        super().__init__(name, loss_weight)
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
        self.ignore_index = int(ignore_index)
        self.class_names = tuple(class_names) if class_names else tuple(
            str(i) for i in range(self.num_classes))

    @property
    def num_outputs(self) -> int:
        return self.num_classes

    def to_prediction(self, pred: Tensor) -> Tensor:
        return pred.argmax(dim=1, keepdim=True)

    def valid_mask(self, gt: Tensor) -> Tensor:
        return gt != self.ignore_index

    @property
    def pad_value(self) -> float:
        return float(self.ignore_index)

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


@TASKS.register_module()
class NormalTask(BaseTask):
    """Surface normals (unit vectors, camera frame); zero vector = invalid.

    Args:
        name (str): task name.
        loss (str): 'cosine' (``1 - n̂·n``, MTPSL/JTR) or 'l1' (DGR /
            Auto-Lambda). Defaults to 'cosine'.
        loss_weight (float): Defaults to 1.0.
    """
    kind = 'normal'
    gt_channels = 3
    gt_interp = 'bilinear'
    primary_metric = 'mean'
    higher_is_better = False

    def __init__(self, name: str, loss: str = 'cosine',
                 loss_weight: float = 1.0) -> None:
        super().__init__(name, loss_weight)
        if loss not in ('cosine', 'l1'):
            raise ValueError(f'task "{name}": normal loss must be cosine or '
                             f'l1, got {loss!r}')
        self.loss_type = loss

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


@TASKS.register_module()
class BinaryTask(BaseTask):
    """Binary dense maps: edges and saliency (one logit per pixel).

    Ground truth is {0, 1}; ``ignore_index`` (255) marks ignored pixels.

    Args:
        name (str): task name.
        pos_weight (float, optional): weight of positive pixels in the
            balanced BCE. None: balanced per sample by label frequency
            (Vandenhende's saliency loss); 0.95 is the edge setting.
        metric (str): 'maxF' (saliency) or 'odsF' (edges). Defaults to
            'maxF'.
        ignore_index (int): Defaults to 255.
        loss_weight (float): Defaults to 1.0.
    """
    kind = 'binary'
    gt_channels = 1
    gt_interp = 'nearest'
    higher_is_better = True

    def __init__(self,
                 name: str,
                 pos_weight: Optional[float] = None,
                 metric: str = 'maxF',
                 ignore_index: int = 255,
                 loss_weight: float = 1.0) -> None:
        super().__init__(name, loss_weight)
        if metric not in ('maxF', 'odsF'):
            raise ValueError(f'task "{name}": metric must be maxF or odsF, '
                             f'got {metric!r}')
        if pos_weight is not None and not 0 < pos_weight < 1:
            raise ValueError(f'task "{name}": pos_weight must be in (0, 1)')
        self.pos_weight = pos_weight
        self.primary_metric = metric
        self.ignore_index = int(ignore_index)

    @property
    def num_outputs(self) -> int:
        return 1

    def to_prediction(self, pred: Tensor) -> Tensor:
        return pred.float().sigmoid()

    def valid_mask(self, gt: Tensor) -> Tensor:
        return gt != self.ignore_index

    @property
    def pad_value(self) -> float:
        return float(self.ignore_index)

    def validate_gt(self, gt: np.ndarray, where: str) -> np.ndarray:
        gt = as_hwc(gt, 1, where)
        check_finite(gt.astype(np.float64), where)
        bad = (gt != 0) & (gt != 1) & (gt != self.ignore_index)
        if bad.any():
            raise ValueError(f'{where}: binary labels of task "{self.name}" '
                             f'must be 0, 1 or {self.ignore_index}, got '
                             f'{np.unique(gt[bad])[:10].tolist()}')
        return gt.astype(np.float32)

    def loss(self, pred: Tensor, gt: Tensor) -> Tensor:
        valid = self.valid_mask(gt)
        target = torch.where(valid, gt, torch.zeros_like(gt))
        logits = pred.float()
        pos_loss = F.softplus(-logits)  # -log(sigmoid(x))
        neg_loss = F.softplus(logits)  # -log(1 - sigmoid(x))
        if self.pos_weight is None:
            n = gt.shape[0]
            vf = valid.float()
            pos = (target * vf).reshape(n, -1).sum(1)
            tot = vf.reshape(n, -1).sum(1).clamp(min=1)
            w = (1 - pos / tot).view(n, 1, 1, 1)
        else:
            w = torch.full_like(logits[:, :1, :1, :1], self.pos_weight)
        per_pixel = w * target * pos_loss + (1 - w) * (1 - target) * neg_loss
        return masked_mean_per_sample(per_pixel, valid)

    def encode_pred(self, pred: Tensor, mode: str = 'soft', **kwargs):
        out = pred.float().sigmoid().to(pred.dtype)
        return out.detach() if mode == 'hard' else out

    def encode_gt(self, gt: Tensor, **kwargs) -> Tensor:
        valid = self.valid_mask(gt)
        return torch.where(valid, gt, torch.zeros_like(gt)).float()

    def extra_repr(self) -> Dict:
        return dict(pos_weight=self.pos_weight, metric=self.primary_metric)
