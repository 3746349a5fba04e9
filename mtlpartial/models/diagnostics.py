# Copyright (c) mtlpartial contributors. All rights reserved.
"""Training diagnostics of the partial-label regularizers.

Auxiliary networks trained from scratch (MTPSL's mappings, JTR's
auto-encoder) can swamp the shared backbone's gradient early in training,
and their joint spaces can collapse (every input embedded alike), after
which they neither help nor hurt. These helpers measure both; the model
logs them every ``train_cfg.diagnostics_interval`` iterations and
:class:`~mtlpartial.engine.hooks.RegularizerDiagnosticsHook` warns on a
collapse.
"""
from typing import Dict, List, Mapping, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def _grad_norm(loss: Tensor, params: List[Tensor]) -> Tensor:
    grads = torch.autograd.grad(
        loss, params, retain_graph=True, allow_unused=True)
    squares = [g.float().pow(2).sum() for g in grads if g is not None]
    if not squares:
        return loss.new_zeros((), dtype=torch.float32)
    return torch.stack(squares).sum().sqrt()


def gradient_norm_ratios(losses: Mapping[str, Tensor],
                         task_names: Sequence[str],
                         regularizer_names: Sequence[str],
                         params: Sequence[Tensor]) -> Dict[str, Tensor]:
    """Gradient norms of the supervised and regularizer losses on ``params``.

    Args:
        losses: the model's loss dict (``loss_<task>`` and
            ``<reg>.loss_<term>`` entries, with graph).
        task_names: the tasks (their ``loss_<task>`` are summed).
        regularizer_names: the regularizers (each one's loss terms are
            summed).
        params: the shared parameters.

    Returns:
        dict: ``diag.sup_grad_norm`` and, per regularizer,
        ``<reg>.grad_ratio`` = ‖∇ Σ reg terms‖ / ‖∇ Σ task losses‖ (detached,
        rank-local gradients; 0 when the regularizer has no graph, e.g.
        during its warm-up).
    """
    params = [p for p in params if p.requires_grad]
    out: Dict[str, Tensor] = {}
    task_terms = [losses[f'loss_{t}'] for t in task_names
                  if f'loss_{t}' in losses
                  and losses[f'loss_{t}'].requires_grad]
    if not params or not task_terms:
        return out
    sup = _grad_norm(sum(task_terms), params)
    out['diag.sup_grad_norm'] = sup.detach()
    for name in regularizer_names:
        terms = [v for k, v in losses.items()
                 if k.startswith(f'{name}.') and 'loss' in k
                 and isinstance(v, Tensor) and v.requires_grad]
        norm = _grad_norm(sum(terms), params) if terms else sup.new_zeros(())
        out[f'{name}.grad_ratio'] = (norm / sup.clamp(min=1e-12)).detach()
    return out


def _map_similarity(a: Tensor, b: Tensor) -> Tensor:
    """``(N, N)`` similarity of every map of ``a`` to every map of ``b``:
    the cosine over channels averaged over positions, as in MTPSL's and
    JTR's distances."""
    za = F.normalize(a.float().flatten(2), dim=1, eps=1e-12)
    zb = F.normalize(b.float().flatten(2), dim=1, eps=1e-12)
    return torch.einsum('icp,jcp->ij', za, zb) / za.shape[-1]


def _cross_mask(n: int, pair_ids: Optional[Tensor],
                device: torch.device) -> Tensor:
    """Off-diagonal entries whose rows share a group."""
    cross = ~torch.eye(n, dtype=torch.bool, device=device)
    if pair_ids is not None:
        cross &= pair_ids[:, None] == pair_ids[None, :]
    return cross


def cosine_gap(a: Tensor, b: Tensor,
               pair_ids: Optional[Tensor] = None) -> Tensor:
    """Same-image minus cross-image cosine similarity of two embeddings.

    The similarity of two maps is the cosine over channels averaged over
    positions, as in MTPSL's and JTR's distances.

    Args:
        a, b: ``(N, C, h, w)`` embeddings; row ``i`` of ``a`` and of ``b``
            come from the same image.
        pair_ids: ``(N,)`` group of each row (e.g. MTPSL's task pair);
            cross-image pairs are only taken within a group. None: one
            group.

    Returns:
        Tensor: scalar (detached); near 0 when the space has collapsed
        (every input embedded alike), NaN without any cross-image pair.
    """
    with torch.no_grad():
        sim = _map_similarity(a, b)
        cross = _cross_mask(sim.shape[0], pair_ids, sim.device)
        if not bool(cross.any()):
            return sim.new_tensor(float('nan'))
        return sim.diagonal().mean() - sim[cross].mean()


def embedding_alignment(a: Tensor, b: Tensor,
                        pair_ids: Optional[Tensor] = None
                        ) -> Dict[str, float]:
    """Why a joint space's :func:`cosine_gap` is small: a constant output,
    or image-specific parts that do not match.

    Each group's (``pair_ids``) mean map is what every input shares; the
    rest (the *centred* embedding) is what the space says about the image.
    A space that carries image-specific information has centred
    same-image similarity well above the centred cross-image one
    (``-1/(n-1)`` for ``n`` unrelated rows of a group).

    Args:
        a, b: ``(N, C, h, w)`` embeddings; row ``i`` of ``a`` and of ``b``
            come from the same image.
        pair_ids: ``(N,)`` group of each row (e.g. MTPSL's task pair).
            None: one group.

    Returns:
        dict: ``same`` / ``cross`` (raw similarities, as in
        :func:`cosine_gap`), ``centred_same`` / ``centred_cross`` (after
        removing each group's mean map), and ``spread_a`` / ``spread_b``
        (RMS norm of the centred rows over the norm of the group mean,
        averaged over groups: near 0 for a constant output). Groups of one
        row are left out; NaN where no group has two rows.
    """
    if pair_ids is None:
        pair_ids = torch.zeros(a.shape[0], dtype=torch.long,
                               device=a.device)
    with torch.no_grad():
        a, b = a.float(), b.float()
        keep = torch.zeros_like(pair_ids, dtype=torch.bool)
        centred_a, centred_b = a.clone(), b.clone()
        spreads_a, spreads_b = [], []
        for group in pair_ids.unique():
            rows = pair_ids == group
            if int(rows.sum()) < 2:
                continue
            keep |= rows
            for x, centred, spreads in ((a, centred_a, spreads_a),
                                        (b, centred_b, spreads_b)):
                mean = x[rows].mean(0, keepdim=True)
                centred[rows] = x[rows] - mean
                rms = centred[rows].flatten(1).norm(dim=1).pow(2).mean().sqrt()
                spreads.append(rms / mean.norm().clamp(min=1e-12))
        if not bool(keep.any()):
            nan = float('nan')
            return dict(same=nan, cross=nan, centred_same=nan,
                        centred_cross=nan, spread_a=nan, spread_b=nan)
        ids = pair_ids[keep]
        cross = _cross_mask(int(keep.sum()), ids, a.device)
        raw = _map_similarity(a[keep], b[keep])
        centred = _map_similarity(centred_a[keep], centred_b[keep])
        return dict(
            same=float(raw.diagonal().mean()),
            cross=float(raw[cross].mean()),
            centred_same=float(centred.diagonal().mean()),
            centred_cross=float(centred[cross].mean()),
            spread_a=float(torch.stack(spreads_a).mean()),
            spread_b=float(torch.stack(spreads_b).mean()))
