# Copyright (c) mtlpartial contributors. All rights reserved.
"""Binary dense maps: edges and saliency."""
from typing import Dict, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mtlpartial.registry import TASKS
from .base_task import LabelTask, as_hwc, check_finite, masked_mean_per_sample


@TASKS.register_module()
class BinaryTask(LabelTask):
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
        super().__init__(name, ignore_index, loss_weight)
        if metric not in ('maxF', 'odsF'):
            raise ValueError(f'task "{name}": metric must be maxF or odsF, '
                             f'got {metric!r}')
        if pos_weight is not None and not 0 < pos_weight < 1:
            raise ValueError(f'task "{name}": pos_weight must be in (0, 1)')
        self.pos_weight = pos_weight
        self.primary_metric = metric

    @property
    def num_outputs(self) -> int:
        return 1

    def to_prediction(self, pred: Tensor) -> Tensor:
        return pred.float().sigmoid()

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
