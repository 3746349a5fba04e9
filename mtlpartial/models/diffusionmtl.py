# Copyright (c) mtlpartial contributors. All rights reserved.
"""DiffusionMTL (Ye & Xu, CVPR 2024) as a :class:`MultiTaskModel` family.

This module is only the integration layer: how the predictions are made
from the shared features (preliminary heads, then the diffusion network
:class:`~mtlpartial.models.diffusion.MTDNet`) and how the two supervised
terms enter each task's loss. Backbone, neck, normalisation, regularizers,
train step and NaN guard are the base model's.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch.nn.functional as F
from torch import Tensor
from torch.profiler import record_function

from mtlpartial.registry import MODELS
from mtlpartial.structures import MultiTaskBatch
from .diffusion import MTDNet
from .loss_normalizer import LossNormalizer
from .multitask_model import MultiTaskModel


@MODELS.register_module()
class DiffusionMTL(MultiTaskModel):
    """Multi-task denoising diffusion for partially labelled data.

    ``backbone → neck (multi-scale fusion) → per task: preliminary head
    (feature F_t, prediction P̃_t) → MTDNet (diffuse F_t or P̃_t, denoise
    conditioned on all P̃) → final prediction P_t``.

    Loss of task ``t`` (its ``loss_<task>``, the quantity balancers see)::

        loss_scale * (L_t(P_t) + prelim_loss_weight * L_t(P̃_t))

    each term through :meth:`task_loss` (labelled samples only, the model's
    ``normalize`` with global counts, so exact under DDP). The official
    per-sample factor ``K / |T_n|`` is ``normalize='image'`` with
    ``loss_scale=K``.

    Training denoises only the labelled (sample, task) rows of view 0, as
    the official code (whose per-sample loop this batches). With
    regularizers, every row of every view is denoised, so that they see the
    final predictions of the unlabelled tasks (``ctx.preds``); ``ctx.heads``
    are the preliminary heads and ``ctx.feats`` the fused feature.

    Args:
        diffusion (dict): the :class:`MTDNet` config (``task_channels`` is
            set from the task specs).
        prelim_loss_weight (float): weight of the preliminary term
            (official 0.5).
        loss_scale (float): factor of both terms. Defaults to 1.
        **kwargs: :class:`MultiTaskModel` arguments; ``heads`` must provide
            ``forward_features`` (e.g. ``PreliminaryHead``).
    """

    def __init__(self,
                 diffusion: dict,
                 prelim_loss_weight: float = 0.5,
                 loss_scale: float = 1.0,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if self.view_norm != 'joint':
            raise ValueError(
                f'DiffusionMTL: model.train_cfg.view_norm='
                f'{self.view_norm!r} is not supported (its preliminary '
                "heads and denoiser run on the stacked views); use 'joint'")
        for t, head in self.heads.items():
            if not hasattr(head, 'forward_features'):
                raise TypeError(
                    f'DiffusionMTL: the head of task "{t}" '
                    f'({type(head).__name__}) has no forward_features; use '
                    "heads=dict(type='PreliminaryHead', ...)")
        cfg = dict(diffusion)
        if 'task_channels' in cfg:
            raise ValueError('DiffusionMTL: diffusion.task_channels is set '
                             'from the task specs; remove it')
        cfg['task_channels'] = {
            t: spec.num_outputs
            for t, spec in self.tasks.items()
        }
        self.diffusion = MODELS.build(cfg)
        if not isinstance(self.diffusion, MTDNet):
            raise TypeError(f'DiffusionMTL.diffusion must build an MTDNet, '
                            f'got {type(self.diffusion).__name__}')
        if self.diffusion.mode == 'feature':
            for t, head in self.heads.items():
                width = getattr(head, 'channels', None)
                if width != self.diffusion.embed_dims:
                    raise ValueError(
                        f'DiffusionMTL (feature diffusion): the head of '
                        f'"{t}" outputs {width}-channel features but '
                        f'diffusion.embed_dims is '
                        f'{self.diffusion.embed_dims}; they must match')
        self.prelim_loss_weight = float(prelim_loss_weight)
        self.loss_scale = float(loss_scale)

    # -------------------------------------------------------- predictions
    def preliminary(self, feats: Tuple[Tensor, ...]
                    ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Preliminary features and raw predictions (latent resolution)."""
        out = {t: self.heads[t].forward_features(feats) for t in self.tasks}
        return ({t: f for t, (f, _) in out.items()},
                {t: p for t, (_, p) in out.items()})

    def denoise(self, prelim_feats: Dict[str, Tensor],
                prelim_preds: Dict[str, Tensor],
                rows: Optional[Dict[str, Tensor]] = None
                ) -> Dict[str, Tensor]:
        """Raw final predictions (latent resolution) of ``rows[task]``
        (index tensors; all rows when None; tasks absent from ``rows`` are
        skipped)."""
        cond = self.diffusion.condition(prelim_preds)
        starts = prelim_feats if self.diffusion.mode == 'feature' \
            else prelim_preds
        if rows is None:
            return self.diffusion(starts, {t: cond for t in starts})
        return self.diffusion({t: starts[t][i] for t, i in rows.items()},
                              {t: cond[i] for t, i in rows.items()})

    def finish(self, task: str, raw: Tensor, size) -> Tensor:
        """Upsample a raw prediction to ``size`` and activate it."""
        if raw.shape[-2:] != tuple(size):
            raw = F.interpolate(raw, size=size, mode='bilinear',
                                align_corners=self.align_corners)
        return self.tasks[task].activate(raw)

    def _forward(self, inputs: Tensor, data_samples=None) -> Dict[str, Tensor]:
        feats = self.extract_feat(inputs)
        size = inputs.shape[-2:]
        final = self.denoise(*self.preliminary(feats))
        return {t: self.finish(t, final[t], size) for t in self.tasks}

    # ---------------------------------------------------------- training
    def decode_and_supervise(self, feats: Tuple[Tensor, ...], size,
                             batch: MultiTaskBatch, norm: LossNormalizer
                             ) -> Tuple[List[Dict[str, Tensor]], dict]:
        """Preliminary + denoised predictions and the task losses (see the
        class docstring)."""
        b = batch.batch_size
        targets = {t: batch.target(t, 0) for t in self.tasks}
        rows = {t: tg.index for t, tg in targets.items() if tg is not None}
        with record_function('mtl.heads'):
            prelim_feats, prelim_preds = self.preliminary(feats)
        with record_function('mtl.diffusion'):
            final = self.denoise(prelim_feats, prelim_preds,
                                 None if self.regularizers else rows)
        if self.regularizers:
            full = {t: self.finish(t, p, size) for t, p in final.items()}
            preds = [{t: p[v * b:(v + 1) * b] for t, p in full.items()}
                     for v in range(self.num_views)]
            final = {t: full[t][i] for t, i in rows.items()}
        else:
            preds = []
            final = {t: self.finish(t, p, size) for t, p in final.items()}
        losses: Dict[str, Tensor] = OrderedDict()
        with record_function('mtl.task_losses'):
            for t in self.tasks:
                if t not in rows:
                    losses[f'loss_{t}'] = prelim_preds[t].new_zeros(())
                    continue
                prelim = self.finish(t, prelim_preds[t][rows[t]], size)
                losses[f'loss_{t}'] = self.loss_scale * (
                    self.task_loss(t, final[t], batch, norm, 0,
                                   labelled_only=True)
                    + self.prelim_loss_weight * self.task_loss(
                        t, prelim, batch, norm, 0, labelled_only=True))
        return preds, losses
