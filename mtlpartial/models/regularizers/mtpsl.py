# Copyright (c) mtlpartial contributors. All rights reserved.
"""MTPSL: cross-task consistency in joint pairwise task spaces (Li, Liu,
Bilen, CVPR 2022), with the paper's Contrastive-Loss and
Discriminator-Loss variants and the w/o-cond / w/o-reg ablations."""
from typing import Dict, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.func import functional_call

from mtlpartial.registry import MODELS
from mtlpartial.tasks import BaseTask
from ..diagnostics import cosine_gap
from .base_regularizer import BaseRegularizer, RegularizerContext
from .mtpsl_nets import ConditionalMappingNet, PairDiscriminator
from .utils import cosine_distance_map, gather_gt

LOSS_TYPES = ('cosine', 'contrastive', 'discriminator')
PAIRS = ('unlabelled', 'full')


def pair_codes(source: Tensor, target: Tensor, num_tasks: int) -> Tensor:
    """Index of the ordered pair ``(s, t)``, ``s != t``, among the
    ``K(K-1)`` off-diagonal entries of a row-major ``K x K`` matrix (the
    official order: for K=3 (0,1)→0, (0,2)→1, (1,0)→2, (1,2)→3, ...)."""
    return source * (num_tasks - 1) + target - (target > source).long()


@MODELS.register_module()
class MTPSL(BaseRegularizer):
    """MTPSL conditional joint pairwise mapping regulariser.

    For every sample and every ordered pair (unlabelled ``s``, labelled
    ``t``) the prediction ``ŷ_s`` and the label ``y_t`` of view 1 are mapped
    by the FiLM-conditioned network ``M_st`` (code of the pair ``(s, t)``,
    task-specific input layer of ``s`` resp. ``t``) and

    ``l = (1 - cos(M_st(ŷ_s), M_st(y_t)))
          + reg_weight * ((1 - cos(M_st(ŷ_s), f̄)) + (1 - cos(M_st(y_t), f̄)))``

    with ``f̄ = ctx.feats[1].detach()`` (the shared feature of view 1);
    cosine over channels then mean over positions. Pair losses are summed
    per sample, averaged with ``ctx.sample_mean`` and multiplied by
    ``con_weight * loss_weight``. Returned as ``loss_cross`` (first term)
    and ``loss_feat`` (regularisation), already weighted.

    Input encodings (from the task specs): segmentation predictions as a
    straight-through hard Gumbel sample (one per pair item, as the official
    per-pair loop), labels one-hot with ignore → 0; depth max-normalised per
    image (after ReLU, see ``DepthTask.encode_pred``); normals ``(n+1)/2``;
    binary sigmoid / labels.

    All pair items go through the shared stages in one batched pass:
    items are grouped by task for the input layers and carry their own FiLM
    code. Normalisation is per item by default (``norm='instance'``), which
    equals the official BatchNorm at batch size 1 in train mode.

    Deviations from the official code (``VICO-UoE/MTPSL``):

    * ``reg_weight`` is honoured (the official hard-codes 0.5 and ignores
      ``--reg-weight``).
    * If the mapping output and the backbone feature differ in width, a
      learned 1x1 projection (``feat_channels``) is appended to the mapping;
      if they differ in size, the larger map is adaptive-average-pooled to
      the smaller one (the official SegNet feature and mapping output are
      both 512 x H/32 x W/32, where neither applies).
    * Depth max-normalisation clamps negative predictions (official bug
      4.9-12 of methods.md).

    Args:
        con_weight (float): weight of the consistency loss (2.0 NYUv2,
            1.0 Cityscapes). Defaults to 2.0.
        reg_weight (float): weight of the feature regularisation (0.5;
            0 gives the paper's "w/o reg" ablation).
        conditional (bool): FiLM-condition on the ordered task pair; False
            uses one mapping for all pairs ("w/o cond"). Defaults to True.
        feat_channels (int, optional): channels of ``ctx.feats``; defaults
            to the last stage width (512, the SegNet bottleneck).
        channels (Sequence[int]): widths of the shared stages. Defaults to
            the SegNet encoder (64, 128, 256, 512, 512).
        convs_per_stage (Sequence[int]): Defaults to (2, 2, 3, 3, 3).
        in_width (int): width of the task input layers. Defaults to 64.
        norm (str): 'instance' (per item, official) or 'batch'.
        pred_encoding (str): segmentation prediction encoding, 'gumbel'
            (official) or 'soft'.
        depth_encoding (str): 'max' (MTPSL) or 'cdf'.
        loss_type (str): 'cosine' (MTPSL), 'contrastive' (Contrastive-Loss)
            or 'discriminator' (Discriminator-Loss); the two variants
            replace both the consistency and the regularisation terms.
        margin (float): triplet margin of the contrastive variant (on the
            cosine distance; not given in the paper). Defaults to 0.5.
        disc_hidden (int): width of the discriminator. Defaults to 128.
        alternate (bool): Discriminator-Loss only: alternate the updates,
            even iterations train the discriminator on detached embeddings,
            odd ones train the mapping and the MTL network with the
            discriminator frozen. Defaults to True.
        pairs (str): which ordered pairs ``(s, t)`` enter, ``t`` always a
            labelled task: ``'unlabelled'`` (partial-label MTPSL: ``s``
            unlabelled) or ``'full'`` (every ``s != t``, the official
            ``--ssl-type full`` of Table 5, where every task is labelled;
            under partial labels the predictions of labelled tasks then
            enter as sources too). Defaults to 'unlabelled'.
        name (str), loss_weight (float), init_cfg, warmup_iters (int),
            rampup_epochs (float), rampup_iters (int): see BaseRegularizer.
    """
    default_name = 'mtpsl'
    num_views = 2
    min_tasks = 2

    def __init__(self,
                 con_weight: float = 2.0,
                 reg_weight: float = 0.5,
                 conditional: bool = True,
                 feat_channels: Optional[int] = None,
                 channels: Sequence[int] = (64, 128, 256, 512, 512),
                 convs_per_stage: Sequence[int] = (2, 2, 3, 3, 3),
                 in_width: int = 64,
                 norm: str = 'instance',
                 pred_encoding: str = 'gumbel',
                 depth_encoding: str = 'max',
                 loss_type: str = 'cosine',
                 margin: float = 0.5,
                 disc_hidden: int = 128,
                 alternate: bool = True,
                 pairs: str = 'unlabelled',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if loss_type not in LOSS_TYPES:
            raise ValueError(f'MTPSL.loss_type must be one of {LOSS_TYPES}, '
                             f'got {loss_type!r}')
        if pairs not in PAIRS:
            raise ValueError(f'MTPSL.pairs must be one of {PAIRS}, got '
                             f'{pairs!r}')
        self.pairs = pairs
        if pred_encoding not in ('gumbel', 'soft'):
            raise ValueError("MTPSL.pred_encoding must be 'gumbel' or "
                             f"'soft', got {pred_encoding!r}")
        self.con_weight = float(con_weight)
        self.reg_weight = float(reg_weight)
        self.conditional = bool(conditional)
        self.feat_channels = feat_channels
        self.channels = tuple(channels)
        self.convs_per_stage = tuple(convs_per_stage)
        self.in_width = int(in_width)
        self.norm = norm
        self.pred_encoding = pred_encoding
        self.depth_encoding = depth_encoding
        self.loss_type = loss_type
        self.margin = float(margin)
        self.disc_hidden = int(disc_hidden)
        self.alternate = bool(alternate)
        self.mapping: Optional[ConditionalMappingNet] = None
        self.discriminator: Optional[PairDiscriminator] = None

    # ------------------------------------------------------------- building
    def build(self, tasks: Mapping[str, BaseTask],
              heads: Mapping[str, nn.Module]) -> None:
        """Build the mapping network for the encodings of ``tasks``."""
        k = len(tasks)
        self.mapping = ConditionalMappingNet(
            [t.encoded_channels for t in tasks.values()],
            num_codes=k * (k - 1) if self.conditional else 1,
            channels=self.channels,
            convs_per_stage=self.convs_per_stage,
            in_width=self.in_width,
            out_channels=self.feat_channels,
            norm=self.norm)
        if self.loss_type == 'discriminator':
            self.discriminator = PairDiscriminator(self.mapping.out_channels,
                                                   self.disc_hidden)

    # ------------------------------------------------------------- encoding
    def pair_items(self, labelled: Tensor) -> Tensor:
        """``(M, 3)`` int64 rows ``(sample, s, t)``: t labelled, s
        unlabelled (or, with ``pairs='full'``, any other task), ordered by
        sample then s then t."""
        if self.pairs == 'full':
            k = labelled.shape[1]
            other = ~torch.eye(k, dtype=torch.bool, device=labelled.device)
            return torch.nonzero(other[None] & labelled[:, None, :])
        return torch.nonzero(~labelled[:, :, None] & labelled[:, None, :])

    def encode_items(self, ctx: RegularizerContext,
                     items: Tensor) -> Tuple[Tensor, Tensor]:
        """Input-layer features of the source predictions and the target
        labels of every item, ``(M, in_width, H, W)`` each."""
        view = 1
        region = ctx.batch.valid_region()  # padded pixels: no image
        src_parts, tgt_parts, src_pos, tgt_pos = [], [], [], []
        for k, (name, task) in enumerate(ctx.tasks.items()):
            sel = torch.nonzero(items[:, 1] == k).squeeze(1)
            if sel.numel():
                pred = ctx.preds[view][name][items[sel, 0]]
                enc = task.encode_pred(pred, mode=self.pred_encoding,
                                       method=self.depth_encoding)
                if region is not None:
                    enc = enc * region
                src_parts.append(self.mapping.embed_input(k, enc.float()))
                src_pos.append(sel)
            sel = torch.nonzero(items[:, 2] == k).squeeze(1)
            if sel.numel():
                gt = gather_gt(ctx.batch, name, view, items[sel, 0])
                enc = task.encode_gt(gt, method=self.depth_encoding).detach()
                if region is not None:
                    enc = enc * region
                tgt_parts.append(self.mapping.embed_input(k, enc.float()))
                tgt_pos.append(sel)

        def reorder(parts, pos):
            order = torch.argsort(torch.cat(pos))
            return torch.cat(parts)[order]

        return reorder(src_parts, src_pos), reorder(tgt_parts, tgt_pos)

    def embed(self, ctx: RegularizerContext,
              items: Tensor) -> Tuple[Tensor, Tensor]:
        """Joint-space embeddings ``(z_s, z_t)`` of all items (one pass)."""
        h_src, h_tgt = self.encode_items(ctx, items)
        k = len(self.task_names)
        if self.conditional:
            codes = pair_codes(items[:, 1], items[:, 2], k)
        else:
            codes = torch.zeros_like(items[:, 1])
        z = self.mapping(torch.cat([h_src, h_tgt]), torch.cat([codes, codes]))
        return z.chunk(2)

    @staticmethod
    def match(z: Tensor, feat: Tensor) -> Tuple[Tensor, Tensor]:
        """Pool the larger of two maps to the smaller spatial size."""
        if z.shape[1] != feat.shape[1]:
            raise ValueError(
                f'MTPSL: mapping output has {z.shape[1]} channels but the '
                f'shared feature ctx.feats[1] has {feat.shape[1]}; set '
                f'feat_channels={feat.shape[1]}')
        size = (min(z.shape[-2], feat.shape[-2]),
                min(z.shape[-1], feat.shape[-1]))
        if tuple(z.shape[-2:]) != size:
            z = F.adaptive_avg_pool2d(z, size)
        if tuple(feat.shape[-2:]) != size:
            feat = F.adaptive_avg_pool2d(feat, size)
        return z, feat

    # ---------------------------------------------------------------- loss
    def forward(self, ctx: RegularizerContext) -> Dict[str, Tensor]:
        pred0 = next(iter(ctx.preds[1].values()))
        b = pred0.shape[0]
        labelled = ctx.labelled.to(pred0.device)
        items = self.pair_items(labelled)
        weight = self.loss_weight * self.con_weight
        if items.shape[0] == 0:
            zero = self.zero_loss(pred0)
            if self.loss_type == 'cosine':
                return dict(loss_cross=zero, loss_feat=zero.clone())
            return {f'loss_{self.loss_type}': zero}
        z_s, z_t = self.embed(ctx, items)
        samples = items[:, 0]
        diag = {}
        if ctx.diagnostics:
            k = len(self.task_names)
            diag['cos_gap'] = cosine_gap(
                z_s, z_t, pair_codes(items[:, 1], items[:, 2], k))

        def per_sample(values: Tensor) -> Tensor:
            out = values.new_zeros(b)
            return out.index_add(0, samples, values)

        if self.loss_type == 'cosine':
            feat = ctx.feats[1].detach()[samples]
            z_s_f, feat_s = self.match(z_s, feat)
            z_t_f, feat_t = self.match(z_t, feat)
            cross = cosine_distance_map(z_s, z_t)
            reg = cosine_distance_map(z_s_f, feat_s) + \
                cosine_distance_map(z_t_f, feat_t)
            return dict(
                loss_cross=weight * ctx.sample_mean(per_sample(cross)),
                loss_feat=weight * self.reg_weight *
                ctx.sample_mean(per_sample(reg)),
                **diag)
        negatives = self.negative_mask(items)
        if self.loss_type == 'contrastive':
            values = self.contrastive(z_s, z_t, negatives)
        else:
            values = self.discriminator_loss(z_s, z_t, negatives, ctx.iter)
        return {
            f'loss_{self.loss_type}':
            weight * ctx.sample_mean(per_sample(values)),
            **diag
        }

    # ------------------------------------------------------------ variants
    def negative_mask(self, items: Tensor) -> Tensor:
        """``(M, M)``: item j is a negative for item i when both have the
        same ordered pair and come from different images."""
        same_pair = (items[:, None, 1] == items[None, :, 1]) & \
            (items[:, None, 2] == items[None, :, 2])
        return same_pair & (items[:, None, 0] != items[None, :, 0])

    def contrastive(self, z_s: Tensor, z_t: Tensor,
                    negatives: Tensor) -> Tensor:
        """Triplet hinge per item: anchor ``M_ts(y_t^i)``, positive
        ``M_st(ŷ_s^i)``, negatives ``M_st(ŷ_s^j)`` of other images (same
        pair) in the batch; mean over negatives, 0 without any."""
        zs = F.normalize(z_s.float().flatten(2), dim=1, eps=1e-12)
        zt = F.normalize(z_t.float().flatten(2), dim=1, eps=1e-12)
        dist = 1 - torch.einsum('icp,jcp->ij', zt, zs) / zs.shape[-1]
        pos = dist.diagonal()[:, None]
        hinge = F.relu(pos - dist + self.margin) * negatives
        count = negatives.sum(1).clamp(min=1)
        return hinge.sum(1) / count

    def discriminator_loss(self, z_s: Tensor, z_t: Tensor, negatives: Tensor,
                           it: int) -> Tensor:
        """BCE of the pair discriminator on the positive pair and one
        random negative (another image, same pair) per item."""
        disc = self.discriminator
        if self.alternate and it % 2 == 0:
            z_s, z_t = z_s.detach(), z_t.detach()  # discriminator step
        elif self.alternate:
            params = {k: v.detach() for k, v in disc.named_parameters()}

            def disc(a, b, _d=self.discriminator, _p=params):
                return functional_call(_d, _p, (a, b))

        has_neg = negatives.any(1)
        weights = negatives.float() + (~has_neg)[:, None].float()
        j = torch.multinomial(weights, 1).squeeze(1)
        pos_logit = disc(z_s, z_t)
        neg_logit = disc(z_s[j], z_t)
        pos = F.binary_cross_entropy_with_logits(
            pos_logit.float(), torch.ones_like(pos_logit.float()),
            reduction='none')
        neg = F.binary_cross_entropy_with_logits(
            neg_logit.float(), torch.zeros_like(neg_logit.float()),
            reduction='none')
        return pos + neg * has_neg.float()
