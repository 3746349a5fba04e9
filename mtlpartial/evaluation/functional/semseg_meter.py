# Copyright (c) mtlpartial contributors. All rights reserved.
"""Semantic segmentation: one accumulated confusion matrix."""
from typing import Dict, List

import torch
from torch import Tensor

from .base_meter import BaseMeter, StateDict, bincount, check_pair


class SemSegMeter(BaseMeter):
    """mIoU, pixel accuracy and mean class accuracy from an accumulated
    ``num_classes x num_classes`` confusion matrix (rows: ground truth,
    columns: prediction), as ``ConfMatrix`` of MTPSL/JTR.

    Pixels whose ground truth is ``ignore_index`` are skipped. Differences
    from the official meter:

    * a class absent from both the ground truth and the predictions of the
      whole evaluation set (union 0) is **excluded** from the mean; the
      official ``ConfMatrix`` returns NaN for mIoU in that case;
    * ground-truth values outside ``[0, num_classes)`` that are not
      ``ignore_index`` raise a ``ValueError`` (the official meter silently
      drops them);
    * values are returned in percent.

    Args:
        num_classes (int): number of classes.
        ignore_index (int): ground-truth label to skip. Defaults to 255.

    Inputs of :meth:`update`: ``pred`` ``(N, 1, H, W)`` integer class ids
    (``argmax`` of the logits), ``gt`` ``(N, 1, H, W)`` integer labels.
    """

    higher_is_better = dict(mIoU=True, pixel_acc=True, mAcc=True)

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        if int(num_classes) < 1:
            raise ValueError('SemSegMeter: num_classes must be >= 1, got '
                             f'{num_classes}')
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        super().__init__()

    def empty_state(self) -> StateDict:
        c = self.num_classes
        return dict(confusion=torch.zeros(c, c, dtype=torch.int64))

    @staticmethod
    def _as_ids(x: Tensor, what: str) -> Tensor:
        if x.is_floating_point():
            if not bool((x == x.round()).all()):
                raise ValueError(
                    f'SemSegMeter: {what} must hold integer class ids, got '
                    'non-integer values (pass argmax of the logits)')
        return x.long()

    def sample_stats(self, pred: Tensor, gt: Tensor) -> StateDict:
        """``confusion``: ``(N, C, C)`` per-sample confusion matrices."""
        check_pair(pred, gt, 1, 1, 'SemSegMeter')
        c = self.num_classes
        n = pred.shape[0]
        pred = self._as_ids(pred, 'prediction').flatten(1)
        gt = self._as_ids(gt, 'ground truth').to(pred.device).flatten(1)
        valid = gt != self.ignore_index
        bad_gt = valid & ((gt < 0) | (gt >= c))
        if bool(bad_gt.any()):
            raise ValueError(
                f'SemSegMeter: ground-truth labels '
                f'{torch.unique(gt[bad_gt])[:10].tolist()} are outside [0, '
                f'{c - 1}] and are not the ignore index {self.ignore_index}')
        bad_pred = valid & ((pred < 0) | (pred >= c))
        if bool(bad_pred.any()):
            raise ValueError(
                f'SemSegMeter: predicted class ids '
                f'{torch.unique(pred[bad_pred])[:10].tolist()} are outside '
                f'[0, {c - 1}]')
        offset = torch.arange(n, device=pred.device)[:, None] * (c * c)
        # ignored pixels go to one extra bin (cheaper than masking)
        index = torch.where(valid, offset + gt * c + pred, n * c * c)
        counts = bincount(index.flatten(), n * c * c + 1)[:-1]
        return dict(confusion=counts.view(n, c, c))

    def iou_per_class(self) -> List[float]:
        """IoU of every class in percent (NaN where the union is empty)."""
        cm = self.state['confusion'].double()
        tp = cm.diag()
        union = cm.sum(0) + cm.sum(1) - tp
        iou = tp / union * 100
        return iou.tolist()

    def compute(self) -> Dict[str, float]:
        """``mIoU``, ``pixel_acc``, ``mAcc`` in percent (NaN if empty)."""
        cm = self.state['confusion'].double()
        tp = cm.diag()
        gt_count = cm.sum(1)
        union = cm.sum(0) + gt_count - tp
        present = union > 0
        nan = float('nan')
        total = cm.sum()
        miou = (tp[present] / union[present]).mean() * 100 \
            if bool(present.any()) else nan
        in_gt = gt_count > 0
        macc = (tp[in_gt] / gt_count[in_gt]).mean() * 100 \
            if bool(in_gt.any()) else nan
        acc = tp.sum() / total * 100 if total > 0 else nan
        return dict(mIoU=float(miou), pixel_acc=float(acc), mAcc=float(macc))
