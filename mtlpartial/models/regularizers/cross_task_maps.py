# Copyright (c) mtlpartial contributors. All rights reserved.
"""The Direct-Map and Perceptual-Map baselines of MTPSL (Sec. 3.2,
"Alternative mapping strategies", after Zamir et al., CVPR 2020)."""
from typing import Dict, List, Mapping, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import initialize
from torch import Tensor
from torch.func import functional_call

from mtlpartial.registry import MODELS
from mtlpartial.tasks import BaseTask, masked_mean_per_sample
from .base_regularizer import BaseRegularizer, RegularizerContext
from .layers import XAVIER_INIT, conv_norm_relu
from .utils import gather_gt


class PairMapNet(nn.Module):
    """A small encoder-decoder mapping one task's map to another task's
    output (Direct-Map / Perceptual-Map, after Zamir et al.'s cross-task
    networks; the paper uses a whole SegNet, configurable here).

    Args:
        in_channels (int): encoded channels of the source task.
        out_channels (int): head channels of the target task.
        channels (Sequence[int]): encoder widths; a 2x2 max-pool separates
            stages; the decoder mirrors them with bilinear upsampling.
        norm (str): 'batch' (default) or 'instance'.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 channels: Sequence[int] = (32, 64, 128),
                 norm: str = 'batch') -> None:
        super().__init__()
        if len(channels) == 0:
            raise ValueError('PairMapNet: `channels` must be non-empty')
        f = list(channels)
        self.encoder = nn.ModuleList(
            conv_norm_relu(in_channels if i == 0 else f[i - 1], f[i], norm)
            for i in range(len(f)))
        self.decoder = nn.ModuleList(
            conv_norm_relu(f[i] + f[i - 1], f[i - 1], norm)
            for i in reversed(range(1, len(f))))
        self.head = nn.Conv2d(f[0], out_channels, 1)
        initialize(self, XAVIER_INIT)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for i, block in enumerate(self.encoder):
            if i > 0:
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            x = block(x)
            skips.append(x)
        for j, block in enumerate(self.decoder):
            skip = skips[-2 - j]
            x = F.interpolate(x, size=skip.shape[-2:], mode='bilinear',
                              align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)


class PairwiseMapRegularizer(BaseRegularizer):
    """Base of regularizers with one mapping network per ordered task pair.

    ``setup(tasks, heads)`` builds ``K(K-1)`` :class:`PairMapNet` s, ``maps[
    's_to_t']`` mapping the encoding of task ``s`` (``encoded_channels``) to
    the head output of task ``t`` (``num_outputs``, then ``activate``).
    Pairs have distinct networks, so the forward loops over the pairs that
    occur in the batch (each pair's items batched).

    Args:
        channels (Sequence[int]): widths of each mapping network.
        norm (str): 'batch' or 'instance'.
        pred_encoding (str): encoding of source predictions ('soft' or
            'gumbel' for segmentation).
        view (int): which view the term uses. Defaults to 0.
        name (str), loss_weight (float), init_cfg, warmup_iters (int),
            rampup_epochs (float), rampup_iters (int): see BaseRegularizer.
    """
    num_views = 1
    min_tasks = 2

    def __init__(self,
                 channels: Sequence[int] = (32, 64, 128),
                 norm: str = 'batch',
                 pred_encoding: str = 'soft',
                 view: int = 0,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.channels = tuple(channels)
        self.norm = norm
        self.pred_encoding = pred_encoding
        self.view = int(view)
        self.num_views = self.view + 1
        self.maps = nn.ModuleDict()

    @staticmethod
    def key(s: str, t: str) -> str:
        return f'{s}_to_{t}'

    def build(self, tasks: Mapping[str, BaseTask],
              heads: Mapping[str, nn.Module]) -> None:
        """One mapping network per ordered pair of ``tasks``."""
        for s, ts in tasks.items():
            for t, tt in tasks.items():
                if s != t:
                    self.maps[self.key(s, t)] = PairMapNet(
                        ts.encoded_channels, tt.num_outputs, self.channels,
                        self.norm)

    def pairs(self) -> List[Tuple[int, str, int, str]]:
        names = self.task_names
        return [(i, s, j, t) for i, s in enumerate(names)
                for j, t in enumerate(names) if i != j]

    def map_to(self, ctx: RegularizerContext, s: str, t: str, x: Tensor,
               frozen: bool = False) -> Tensor:
        """Activated prediction of ``t`` from an encoding of ``s``."""
        net = self.maps[self.key(s, t)]
        if frozen:
            params = {k: v.detach() for k, v in net.named_parameters()}
            raw = functional_call(net, params, (x, ))
        else:
            raw = net(x)
        return ctx.tasks[t].activate(raw)


@MODELS.register_module()
class DirectMap(PairwiseMapRegularizer):
    """Direct-Map: ``L_t(m^{s→t}(ŷ_s), y_t)`` for every sample and every
    pair (unlabelled ``s``, labelled ``t``).

    Replaces MTPSL's consistency and regularisation terms (paper Sec. 3.2).
    The distance in task t's label space is task t's own supervised loss
    (spec ``loss``: CE / L1 / cosine / BCE, respecting ignore and invalid
    pixels), the natural choice for a prediction compared with a label.
    Gradients train the mapping and, through ``ŷ_s``, the MTL network. Pair
    terms are summed per sample, then ``sample_mean`` and ``loss_weight``.
    """
    default_name = 'direct_map'

    def forward(self, ctx: RegularizerContext) -> Dict[str, Tensor]:
        v = self.view
        lab = ctx.labelled
        first = next(iter(ctx.preds[v].values()))
        lab = lab.to(first.device)
        total = first.new_zeros(first.shape[0], dtype=torch.float32)
        used = False
        for i, s, j, t in self.pairs():
            idx = torch.nonzero(~lab[:, i] & lab[:, j]).squeeze(1)
            if idx.numel() == 0:
                continue
            used = True
            x = ctx.tasks[s].encode_pred(ctx.preds[v][s][idx],
                                         mode=self.pred_encoding).float()
            out = self.map_to(ctx, s, t, x)
            gt = gather_gt(ctx.batch, t, v, idx)
            total = total.index_add(0, idx, ctx.tasks[t].loss(out, gt))
        if not used:
            return dict(loss_direct=self.zero_loss(first))
        return dict(loss_direct=self.loss_weight * ctx.sample_mean(total))


@MODELS.register_module()
class PerceptualMap(PairwiseMapRegularizer):
    """Perceptual-Map: ``L_ct(m^{s→t}(ŷ_s), m^{s→t}(y_s))``.

    The paper (Sec. 3.2) compares the mapped prediction and the mapped
    label of the *same* task ``s`` in task t's label space, with mappings
    "learned from the prediction of one task to another task's
    ground-truth". Hence two terms:

    * ``loss_fit`` (trains the mappings only): ``L_t(m^{s→t}(sg[ŷ_s]),
      y_t)`` for every pair with ``t`` labelled (source prediction
      detached, so the MTL network gets nothing from it);
    * ``loss_perceptual`` (trains the MTL network only): for every pair
      with ``s`` labelled, the mean absolute difference between the
      soft encodings of ``m^{s→t}(ŷ_s)`` and ``m^{s→t}(y_s)`` over the
      valid pixels of ``y_s``; the mapping is frozen here (parameters
      detached through ``functional_call``) and the label branch has no
      gradient, as with Zamir et al.'s fixed perceptual networks. A label of
      ``s`` is required, so this term supervises labelled tasks through the
      cross-task space; unlabelled tasks never enter it.

    The paper defines ``L_ct`` as a cosine distance over channels; that is
    degenerate for one-channel tasks (depth), so the L1 distance between
    task encodings is used instead.

    Args:
        fit_weight (float): weight of ``loss_fit``. Defaults to 1.0.
        others: see :class:`PairwiseMapRegularizer`.
    """
    default_name = 'perceptual_map'

    def __init__(self, fit_weight: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fit_weight = float(fit_weight)

    def forward(self, ctx: RegularizerContext) -> Dict[str, Tensor]:
        v = self.view
        first = next(iter(ctx.preds[v].values()))
        lab = ctx.labelled.to(first.device)
        fit = first.new_zeros(first.shape[0], dtype=torch.float32)
        perc = torch.zeros_like(fit)
        for i, s, j, t in self.pairs():
            task_s, task_t = ctx.tasks[s], ctx.tasks[t]
            idx = torch.nonzero(lab[:, j]).squeeze(1)
            if idx.numel():
                x = task_s.encode_pred(ctx.preds[v][s][idx].detach(),
                                       mode=self.pred_encoding).float()
                out = self.map_to(ctx, s, t, x)
                gt = gather_gt(ctx.batch, t, v, idx)
                fit = fit.index_add(0, idx, task_t.loss(out, gt))
            idx = torch.nonzero(lab[:, i]).squeeze(1)
            if idx.numel():
                gt_s = gather_gt(ctx.batch, s, v, idx)
                x_pred = task_s.encode_pred(ctx.preds[v][s][idx],
                                            mode=self.pred_encoding).float()
                x_gt = task_s.encode_gt(gt_s).float()
                n = idx.numel()
                # One forward for both halves: with batch normalisation in
                # train mode, separate forwards would normalise the
                # prediction and the label by their own statistics and hide
                # a difference of mean or scale between them.
                out = self.map_to(ctx, s, t, torch.cat([x_pred, x_gt]),
                                  frozen=True)
                enc = task_t.encode_pred(out, mode='soft').float()
                diff = (enc[:n] - enc[n:].detach()).abs().mean(
                    1, keepdim=True)
                perc = perc.index_add(
                    0, idx, masked_mean_per_sample(diff,
                                                   task_s.valid_mask(gt_s)))
        zero = self.zero_loss(first)
        return dict(
            loss_fit=zero + self.loss_weight * self.fit_weight *
            ctx.sample_mean(fit),
            loss_perceptual=self.loss_weight * ctx.sample_mean(perc))
