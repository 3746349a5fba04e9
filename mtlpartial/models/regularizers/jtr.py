# Copyright (c) mtlpartial contributors. All rights reserved.
"""JTR: Joint-Task Regularization (Nishi, Kim, Li, Pfister, CVPR 2024)."""
from typing import Dict, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import initialize
from torch import Tensor
from torch.func import functional_call

from mtlpartial.registry import MODELS
from mtlpartial.tasks import BaseTask, masked_mean_per_sample
from ..diagnostics import cosine_gap
from .base_regularizer import BaseRegularizer, RegularizerContext
from .layers import XAVIER_INIT, check_stages, conv_norm_relu
from .utils import centre_pairs, cosine_distance_map


def recon_loss(task: BaseTask, recon: Tensor, target: Tensor,
               mask: Tensor) -> Tensor:
    """Per-sample reconstruction loss of one task block (JTR).

    Args:
        task: the spec (the loss form depends on its kind).
        recon: ``(N, C_t, H, W)`` reconstruction logits.
        target: ``(N, C_t, H, W)`` encoded target in ``[0, 1]``
            (detached by the caller).
        mask: ``(N, 1, H, W)`` valid pixels.

    Returns:
        Tensor: ``(N,)`` mean over valid pixels.
    """
    recon = recon.float()
    target = target.float()
    if task.kind == 'semseg':
        per = F.binary_cross_entropy_with_logits(
            recon, target, reduction='none').sum(1, keepdim=True)
    elif task.kind == 'binary':
        per = F.binary_cross_entropy_with_logits(
            recon, target, reduction='none')
    elif task.kind == 'depth':
        scaled = (recon.sigmoid() - 0.5) * (1 - 1e-5) + 0.5
        per = (scaled - target).abs()
    elif task.kind == 'normal':
        unit = 2 * target - 1
        cos = (F.normalize(recon, dim=1, eps=1e-12) * unit).sum(
            1, keepdim=True)
        per = 1 - cos
    else:
        raise ValueError(f'JTR: no reconstruction loss for task '
                         f'"{task.name}" of kind {task.kind!r} (expected '
                         "'semseg', 'binary', 'depth' or 'normal')")
    return masked_mean_per_sample(per, mask)


class SegNetAutoEncoder(nn.Module):
    """SegNet encoder-decoder (max-pool indices / max-unpool) used as JTR's
    joint-task auto-encoder.

    Args:
        in_channels (int): channels of the stacked task encodings; the
            reconstruction has the same count.
        channels (Sequence[int]): stage widths. Defaults to the MTAN SegNet
            (64, 128, 256, 512, 512).
        convs_per_stage (Sequence[int]): Defaults to (2, 2, 3, 3, 3).
        norm (str): 'instance' or 'batch'.

    Returns (forward):
        tuple[Tensor, Tensor | None]: latent (bottleneck after the last
        pool) and the reconstruction logits (None with ``latent_only``).
    """

    def __init__(self,
                 in_channels: int,
                 channels: Sequence[int] = (64, 128, 256, 512, 512),
                 convs_per_stage: Sequence[int] = (2, 2, 3, 3, 3),
                 norm: str = 'instance') -> None:
        super().__init__()
        check_stages(channels, convs_per_stage, 'JTR auto-encoder')
        f = list(channels)
        self.encoder = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for i, n in enumerate(convs_per_stage):
            c_in = in_channels if i == 0 else f[i - 1]
            layers = [conv_norm_relu(c_in, f[i], norm)]
            layers += [conv_norm_relu(f[i], f[i], norm) for _ in range(n - 1)]
            self.encoder.append(nn.Sequential(*layers))
        for i in reversed(range(len(f))):
            c_out = f[0] if i == 0 else f[i - 1]
            n = convs_per_stage[i]
            layers = [conv_norm_relu(f[i], c_out, norm)]
            layers += [conv_norm_relu(c_out, c_out, norm)
                       for _ in range(n - 1)]
            self.decoder.append(nn.Sequential(*layers))
        self.head = nn.Sequential(
            nn.Conv2d(f[0], f[0], 3, padding=1),
            nn.Conv2d(f[0], in_channels, 1))
        self.latent_channels = f[-1]
        initialize(self, XAVIER_INIT)

    def forward(self, x: Tensor,
                latent_only: bool = False) -> Tuple[Tensor, Tensor]:
        indices, sizes = [], []
        for block in self.encoder:
            x = block(x)
            sizes.append(x.shape[-2:])
            x, idx = F.max_pool2d(x, 2, 2, return_indices=True)
            indices.append(idx)
        latent = x
        if latent_only:
            return latent, None
        n = len(self.encoder)
        for j, block in enumerate(self.decoder):
            i = n - 1 - j
            x = F.max_unpool2d(x, indices[i], 2, 2, output_size=sizes[i])
            x = block(x)
        return latent, self.head(x)


@MODELS.register_module()
class JTR(BaseRegularizer):
    """Joint-task regularisation with a SegNet auto-encoder.

    Three views (1, 2 are crops of view 0, which carries the supervised
    loss). Per view, all tasks are channel-stacked in their encodings
    (``encode_pred`` / ``encode_gt``: seg one-hot / probabilities, depth
    ``Φ`` with the DepthTask's per-dataset stats, normals ``(n+1)/2``,
    binary sigmoid): ``Ŷ`` from predictions, ``Y`` from labels where a task
    is labelled and predictions otherwise. Predictions of labelled tasks are
    detached (per sample). Every channel is multiplied by the joint validity
    mask (product over the sample's labelled tasks of ``valid_mask``).

    * ``d1`` (view 1) ``= 1 - cos(E'(Y1), E'(Ŷ1))`` with ``E'`` the
      encoder with frozen parameters (``functional_call`` on detached
      parameters; no deepcopy): trains the MTL network only, through the
      unlabelled predictions; segmentation in ``Ŷ1`` is a straight-through
      hard Gumbel sample.
    * ``d2`` (view 2) ``= 1 - cos(E(Y2), E(Ŷ2))`` on detached inputs
      (``Ŷ2`` segmentation soft): trains the auto-encoder only.
    * ``L_rec``: reconstruction of ``Y2`` and ``Ŷ2`` (targets detached;
      ``Ŷ2``'s segmentation target is the hard sample): seg BCE-with-logits
      on the one-hot, depth L1 between the sigmoid-scaled output and the
      ``Φ`` target, normals cosine, binary BCE; means over valid pixels.

    Per sample ``dist_weight * (d1 + recon_dist_weight * d2) + recon_weight
    * L_rec`` (official 4, 2, 2), then ``sample_mean``. Returned as
    ``loss_d1``, ``loss_d2`` and ``loss_recon`` (already weighted). Two
    auto-encoder passes per step (frozen on ``cat([Y1, Ŷ1])``, live on
    ``cat([Y2, Ŷ2])``): the cost grows with the input channels, i.e.
    linearly in K, never with the number of task pairs.

    Fixes of the official code (``KentoNishi/JTR-CVPR-2024``, methods.md
    §5.9), each deliberate:

    1. Double Φ: the official depth reconstruction target of ``Ŷ2`` is
       ``Φ(Φ(d))``; here every target is the encoding used as input
       (``Φ(d)`` once).
    2. Normal targets: the official uses raw unit normals for ``Y2`` but
       ``(n+1)/2`` for ``Ŷ2`` and divides by 3x the pixel count; here both
       targets are unit normals (decoded from the encoding) and the cosine
       loss is a mean over valid pixels.
    3. Depth statistics of ``Φ`` come from the ``DepthTask`` spec
       (``stats``) instead of the NYUv2 values on every dataset.
    4. Gumbel samples: the official draws independent samples for ``Ŷ1``
       and ``Y1`` (unlabelled segmentation) and for ``Ŷ2``'s reconstruction
       target and ``Y2``; that is the default here
       (``independent_gumbel=True``). With ``independent_gumbel=False``
       ``Y1`` reuses ``Ŷ1``'s sample and the reconstruction target reuses
       ``Y2``'s (less noise: the unlabelled segmentation block of ``Y1``
       and ``Ŷ1`` is then identical).
    5. Masking: the official masks prediction channels by the joint mask
       before encoding (``Φ(0)``, 0.5) but label channels only by their own
       validity, so ``Y`` and ``Ŷ`` disagree where another labelled task is
       invalid; here every channel of both is multiplied by the joint mask
       after encoding.
    6. Per-sample batch-1 BatchNorm of the official loop is reproduced in one
       batched pass with ``norm='instance'`` (see ``layers``).

    Args:
        dist_weight (float): weight of the distances (official
            ``--dist-mtl-weight`` 4).
        recon_dist_weight (float): relative weight of ``d2`` (2).
        recon_weight (float): weight of ``L_rec`` (2).
        channels (Sequence[int]): auto-encoder stage widths. Defaults to the
            SegNet (64, 128, 256, 512, 512).
        convs_per_stage (Sequence[int]): Defaults to (2, 2, 3, 3, 3).
        norm (str): 'instance' (official per-sample stats) or 'batch'.
        tau (float): Gumbel temperature. Defaults to 1.
        independent_gumbel (bool): draw the Gumbel samples of ``Y`` and
            ``Ŷ`` (and of ``Ŷ2``'s reconstruction target) independently,
            as the official code; False shares one sample per view and
            task (fix 4). Defaults to True.
        views (int): 3 (official: ``d1`` on view 1, ``d2`` and ``L_rec`` on
            view 2) or 2, the *lite* setting: ``d2`` and ``L_rec`` also on
            view 1, so the MTL network runs on two views instead of three
            (a third less backbone work; one crop pair less of
            augmentation, not the paper's protocol). Defaults to 3.
        centre_latents (Sequence[str]): the distances among ``('d1',
            'd2')`` computed on latents minus their mean over the batch
            (``centre_pairs``: the ``2B`` latents of ``Y`` and ``Ŷ`` of the
            view; under DDP, each process's own batch). Not in the paper or
            the official code: an option that tests the diagnosis of
            docs/methods/jtr.md (on the synthetic benchmark a vector shared
            by every image dominates the latent, so the raw cosine hardly
            tells a consistent prediction from an inconsistent one).
            ``('d2', )`` trains the auto-encoder without the pull towards a
            shared vector and keeps the paper's ``d1`` for the MTL network.
            Needs at least 2 images per batch. Defaults to ``()`` (the
            paper).
        name (str), loss_weight (float), init_cfg, warmup_iters (int),
            rampup_epochs (float), rampup_iters (int): see BaseRegularizer.
    """
    default_name = 'jtr'
    num_views = 3
    min_tasks = 2

    def __init__(self,
                 dist_weight: float = 4.0,
                 recon_dist_weight: float = 2.0,
                 recon_weight: float = 2.0,
                 channels: Sequence[int] = (64, 128, 256, 512, 512),
                 convs_per_stage: Sequence[int] = (2, 2, 3, 3, 3),
                 norm: str = 'instance',
                 tau: float = 1.0,
                 independent_gumbel: bool = True,
                 views: int = 3,
                 centre_latents: Sequence[str] = (),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if views not in (2, 3):
            raise ValueError(f'JTR.views must be 3 (official) or 2 (lite: '
                             f'one view for d1, d2 and L_rec), got {views!r}')
        self.num_views = int(views)
        self.dist_weight = float(dist_weight)
        self.recon_dist_weight = float(recon_dist_weight)
        self.recon_weight = float(recon_weight)
        self.channels = tuple(channels)
        self.convs_per_stage = tuple(convs_per_stage)
        self.norm = norm
        self.tau = float(tau)
        self.independent_gumbel = bool(independent_gumbel)
        if not isinstance(centre_latents, (list, tuple)) or not set(
                centre_latents) <= {'d1', 'd2'}:
            raise ValueError(f"JTR.centre_latents must be a sequence of "
                             f"'d1' and/or 'd2', got {centre_latents!r}")
        self.centre_latents = tuple(centre_latents)
        self.ae: Optional[SegNetAutoEncoder] = None

    def build(self, tasks: Mapping[str, BaseTask],
              heads: Mapping[str, nn.Module]) -> None:
        """Build the auto-encoder for the stacked encodings of ``tasks``."""
        for t in tasks.values():  # fail early on unsupported task kinds
            if t.kind not in ('semseg', 'binary', 'depth', 'normal'):
                raise ValueError(f'JTR: unsupported kind {t.kind!r} of task '
                                 f'"{t.name}"')
        self.ae = SegNetAutoEncoder(
            sum(t.encoded_channels for t in tasks.values()), self.channels,
            self.convs_per_stage, self.norm)

    # ------------------------------------------------------------- inputs
    def joint_mask(self, ctx: RegularizerContext, view: int,
                   like: Tensor) -> Tensor:
        """``(B, 1, H, W)``: product of the labelled tasks' validity (and
        of the image region when the batch is padded)."""
        mask = torch.ones_like(like[:, :1], dtype=torch.float32)
        region = ctx.batch.valid_region()
        if region is not None:
            mask = mask * region.to(mask)
        for name, task in ctx.tasks.items():
            target = ctx.batch.target(name, view)
            if target is None or target.count == 0:
                continue
            idx = target.index.to(like.device)
            valid = task.valid_mask(target.data).float()
            mask = mask.index_copy(0, idx, mask[idx] * valid)
        return mask

    def build_inputs(self, ctx: RegularizerContext, view: int,
                     soft_hat: bool) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(Y, Ŷ, Ŷ reconstruction target, mask)`` of ``view``.

        ``Ŷ`` segmentation is the hard Gumbel sample (``soft_hat=False``) or
        the softmax (``soft_hat=True``); ``Y`` uses labels where labelled
        and a hard sample otherwise (its own with ``independent_gumbel``);
        the reconstruction target is the first hard sample.
        """
        preds = ctx.preds[view]
        first = next(iter(preds.values()))
        labelled = ctx.labelled.to(first.device)
        mask = self.joint_mask(ctx, view, first)
        ys, y_hats, hat_targets = [], [], []
        for k, (name, task) in enumerate(ctx.tasks.items()):
            pred = preds[name]
            lab = labelled[:, k].view(-1, 1, 1, 1)
            pred = torch.where(lab, pred.detach(), pred)
            hard = task.encode_pred(pred, mode='gumbel', tau=self.tau).float()
            y_hat = task.encode_pred(pred, mode='soft').float() \
                if soft_hat else hard
            y = task.encode_pred(pred, mode='gumbel', tau=self.tau).float() \
                if self.independent_gumbel else hard
            target = ctx.batch.target(name, view)
            if target is not None and target.count:
                idx = target.index.to(first.device)
                gt = task.encode_gt(target.data).float().detach()
                y = y.index_copy(0, idx, gt)
            ys.append(y * mask)
            y_hats.append(y_hat * mask)
            hat_targets.append(hard * mask)
        return (torch.cat(ys, 1), torch.cat(y_hats, 1),
                torch.cat(hat_targets, 1), mask)

    def frozen_latent(self, x: Tensor) -> Tensor:
        """Auto-encoder latent with parameters frozen (no grad to them, no
        update of the real normalisation buffers)."""
        tensors = {k: v.detach() for k, v in self.ae.named_parameters()}
        tensors.update(
            {k: v.clone() for k, v in self.ae.named_buffers()})
        latent, _ = functional_call(self.ae, tensors, (x, ),
                                    dict(latent_only=True))
        return latent

    def recon(self, ctx: RegularizerContext, recon: Tensor, target: Tensor,
              mask: Tensor) -> Tensor:
        """Sum over tasks of per-sample reconstruction losses ``(N,)``."""
        total = recon.new_zeros(recon.shape[0], dtype=torch.float32)
        c = 0
        for task in ctx.tasks.values():
            n = task.encoded_channels
            total = total + recon_loss(task, recon[:, c:c + n],
                                       target[:, c:c + n].detach(), mask)
            c += n
        return total

    # --------------------------------------------------------------- loss
    def distance(self, z: Tensor, b: int, name: str) -> Tensor:
        """``(B,)`` cosine distance ``name`` (``'d1'`` or ``'d2'``) of the
        latents of ``Y`` (``z[:b]``) and ``Ŷ`` (``z[b:]``), centred over the
        batch when ``name`` is in ``centre_latents``."""
        z_y, z_hat = z[:b], z[b:]
        if name in self.centre_latents:
            z_y, z_hat = centre_pairs(z_y, z_hat)
        return cosine_distance_map(z_y, z_hat)

    def forward(self, ctx: RegularizerContext) -> Dict[str, Tensor]:
        y1, y_hat1, _, _ = self.build_inputs(ctx, 1, soft_hat=False)
        b = y1.shape[0]
        z1 = self.frozen_latent(torch.cat([y1, y_hat1]))
        d1 = self.distance(z1, b, 'd1')
        diag = dict(cos_gap=cosine_gap(z1[:b], z1[b:])) \
            if ctx.diagnostics else {}

        y2, y_hat2, hat_target2, mask2 = self.build_inputs(
            ctx, self.num_views - 1, soft_hat=True)
        z2, r2 = self.ae(torch.cat([y2, y_hat2]).detach())
        d2 = self.distance(z2, b, 'd2')
        rec = self.recon(ctx, r2[:b], y2, mask2) + \
            self.recon(ctx, r2[b:], hat_target2, mask2)
        w = self.loss_weight
        return dict(
            loss_d1=w * self.dist_weight * ctx.sample_mean(d1),
            loss_d2=w * self.dist_weight * self.recon_dist_weight *
            ctx.sample_mean(d2),
            loss_recon=w * self.recon_weight * ctx.sample_mean(rec),
            **diag)
