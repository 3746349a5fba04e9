# Copyright (c) mtlpartial contributors. All rights reserved.
"""Cross-view consistency of unlabelled tasks (MTPSL Eq. 2, the "SSL" /
"Consistency Reg." baseline)."""
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mtlpartial.registry import MODELS
from .base_regularizer import BaseRegularizer, RegularizerContext
from .utils import channel_flip_signs, sample_meta, view_alignment_grid


@MODELS.register_module()
class SSLConsistency(BaseRegularizer):
    """``1/|U_n| Σ_{t ∈ U_n} L_u(e_r(ŷ_t(x)), ŷ_t(e_r(x)))`` per sample.

    View 1 is an augmented crop ``e_r`` of view 0. The view-0 prediction is
    cropped (and flipped) onto view 1 with one batched ``F.grid_sample``
    from the samples' ``view_boxes`` / ``view_flips`` metainfo; values that
    change under the geometry change too: per-channel flip signs come from
    the task spec's ``flip_gt`` (normals: x negated) and zoom rescaling
    from ``rescale_gt`` with the zoom factor ``1 / box width`` (depth /s,
    inverse depth ·s). ``L_u`` is the mean squared error (paper) between
    the two maps in the task encoding space (``encode_pred(mode='soft')``:
    class probabilities, depth CDF, ``(n+1)/2``, sigmoid) so that tasks are
    on comparable scales; pixels that fall outside view 0 are ignored.

    Args:
        detach_target (bool): stop the gradient through the aligned view-0
            prediction (mean-teacher style). Eq. 2 has none: defaults to
            False.
        name (str), loss_weight (float), init_cfg, warmup_iters (int),
            rampup_epochs (float), rampup_iters (int): see BaseRegularizer.
    """
    default_name = 'ssl'
    num_views = 2

    def __init__(self,
                 detach_target: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.detach_target = bool(detach_target)

    @staticmethod
    def view_geometry(ctx: RegularizerContext, view: int = 1):
        """``(B, 4)`` boxes and ``(B,)`` flips of ``view`` from metainfo."""
        boxes = sample_meta(ctx.batch, 'view_boxes', torch.float32)
        flips = sample_meta(ctx.batch, 'view_flips', torch.bool)
        if boxes.dim() != 3 or boxes.shape[-1] != 4 or \
                boxes.shape[1] <= view or flips.shape[:2] != boxes.shape[:2]:
            raise ValueError(
                'metainfo view_boxes must be (V, 4) and view_flips (V,) with '
                f'V > {view} per sample, got {tuple(boxes.shape[1:])} and '
                f'{tuple(flips.shape[1:])}')
        return boxes[:, view], flips[:, view]

    @staticmethod
    def align(task, pred0: Tensor, box: Tensor, flip: Tensor,
              size) -> Tuple[Tensor, Tensor]:
        """Warp view-0 values of ``task`` onto a view of ``size``.

        Args:
            task: the task spec (flip signs and zoom rescaling).
            pred0: ``(N, C, H0, W0)`` view-0 values.
            box: ``(N, 4)`` region of view 0 shown by the view.
            flip: ``(N,)`` bool, the view is mirrored.
            size: ``(H, W)`` of the view.

        Returns:
            tuple[Tensor, Tensor]: aligned values ``(N, C, H, W)`` and the
            ``(N, 1, H, W)`` validity of the sampled positions.
        """
        grid = view_alignment_grid(box, flip, size).to(pred0.dtype)
        out = F.grid_sample(pred0, grid, mode='bilinear',
                            padding_mode='zeros', align_corners=False)
        valid = F.grid_sample(
            torch.ones_like(pred0[:, :1]), grid, mode='nearest',
            padding_mode='zeros', align_corners=False) > 0.5
        signs = channel_flip_signs(task, pred0.shape[1]).to(out)
        sign = torch.where(flip[:, None], signs[None], torch.ones_like(signs))
        out = out * sign[:, :, None, None]
        zoom = 1.0 / (box[:, 2] - box[:, 0]).clamp(min=1e-6)
        out = task.rescale_gt(out, zoom.view(-1, 1, 1, 1).to(out))
        return out, valid

    def forward(self, ctx: RegularizerContext) -> Dict[str, Tensor]:
        labelled = ctx.labelled
        first = next(iter(ctx.preds[1].values()))
        unlabelled = (~labelled).to(first.device)
        num_unlab = unlabelled.sum(1)
        total = first.new_zeros(first.shape[0], dtype=torch.float32)
        box, flip = self.view_geometry(ctx, 1)
        box, flip = box.to(first.device), flip.to(first.device)
        for k, (name, task) in enumerate(ctx.tasks.items()):
            rows = unlabelled[:, k]
            if not bool(rows.any()):
                continue
            idx = torch.nonzero(rows).squeeze(1)
            pred0 = ctx.preds[0][name][idx]
            pred1 = ctx.preds[1][name][idx]
            if self.detach_target:
                pred0 = pred0.detach()
            aligned, valid = self.align(task, pred0.float(), box[idx],
                                        flip[idx], pred1.shape[-2:])
            a = task.encode_pred(aligned, mode='soft').float()
            p = task.encode_pred(pred1, mode='soft').float()
            err = (a - p).pow(2).mean(1, keepdim=True)
            validf = valid.float()
            per = (err * validf).flatten(1).sum(1) / \
                validf.flatten(1).sum(1).clamp(min=1)
            total = total.index_add(0, idx, per)
        per_sample = total / num_unlab.clamp(min=1).float()
        return dict(loss_ssl=self.loss_weight * ctx.sample_mean(per_sample))

