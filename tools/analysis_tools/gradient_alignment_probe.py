# Copyright (c) mtlpartial contributors. All rights reserved.
"""Does a regularizer push the unlabelled predictions towards their labels?

A regularizer that uses unlabelled tasks (MTPSL, JTR, DGR, Direct-Map,
SSL, ...) trains the network through the predictions of the (image, task)
pairs whose labels were withheld. This probe asks, from a checkpoint,
whether that push points the right way: on training batches it takes the
gradient of the regularizer's losses with respect to each unlabelled
prediction and compares it with the gradient of the task's own loss
against the withheld label (the *oracle* gradient), item by item.

* The partial-label batch is what the run trains on; the oracle labels
  come from the same batches drawn again with ``partial_labels`` set to
  ``Full`` (same seed, so the same images, crops and flips: checked).
  The withheld labels are used by this probe only, never by training.
* An item is one (view, image, unlabelled task). Its ``cos`` is the
  cosine of the two gradients over the prediction's pixels and channels:
  > 0 means a small step against the regularizer's gradient also lowers
  the task's true loss on that image. Random directions of the sizes here
  give ``|cos|`` of about 1/sqrt(C·H·W) (< 0.01).
* ``pooled_cos`` is the same cosine after average-pooling both gradients
  by ``--pool`` (8): the agreement at the scale of the joint spaces. A
  smooth push can agree with the label's push only at coarse scales, so
  this is the fairer measure for regularizers whose gradient is smooth.
* ``norm_ratio`` is ``|g_reg| / |g_oracle|``, the oracle being the
  image's own loss for the task (``spec.loss``, its mean over pixels):
  how hard the regularizer pushes relative to the label. The regularizers
  average their per-image terms over the ``B`` images of the batch, and
  the training loss weighs a labelled image's loss by about ``1/B`` too
  (``'image'`` normalisation, one label per image), so relative to what
  the label would add to a training step the push is about ``B`` times
  this ratio.
* ``none`` as the checkpoint probes the initial weights (drawn from
  ``--seed``).
* Only the prediction is compared, item by item: its gradient involves
  that image alone. On the shared parameters the gradients of disjoint
  sets of images are coupled by train-mode BatchNorm (its backward
  removes the batch mean), which anti-correlates them whatever they
  teach, so this probe does not compare there.
* The regularizer's ``forward`` is called directly: no warm-up, no
  ramp-up (the direction is what is asked, at any iteration). Gradients
  that reach the network other than through the predictions (MTPSL's
  feature term, DGR's head inputs) are not in this measure.

Examples:
    python tools/analysis_tools/gradient_alignment_probe.py \\
        configs/jtr/synthetic_onelabel_stable.py \\
        work_dirs/jtr/epoch_217.pth --batches 5
    python tools/analysis_tools/gradient_alignment_probe.py \\
        configs/mtpsl/synthetic_onelabel.py none --batches 5
"""
import argparse
import copy
import math
import os.path as osp
import sys
import warnings
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
TOOL_DIR = osp.dirname(osp.abspath(__file__))
if TOOL_DIR not in sys.path:
    sys.path.insert(1, TOOL_DIR)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from joint_space_probe import (find_regularizer, load_probed_model,  # noqa
                               probe_parser, training_batches, write_json)
from torch import Tensor, nn  # noqa: E402


class _Captured(Exception):
    """Carries the regularizer context out of ``model.loss``."""

    def __init__(self, ctx) -> None:
        super().__init__('regularizer context captured')
        self.ctx = ctx


@contextmanager
def capturing_context(regularizer: nn.Module) -> Iterator[None]:
    """Within the block, the regularizer's ``regularize`` raises
    :class:`_Captured` with the context it was given (the training step
    stops there); the method is restored on exit."""

    def capture(ctx):
        raise _Captured(ctx)

    regularizer.regularize = capture  # instance attr shadows the method
    try:
        yield
    finally:
        del regularizer.regularize


def gradient_agreement(g_reg: Tensor, g_oracle: Tensor
                       ) -> Tuple[Tensor, Tensor]:
    """Per-item cosine and norm ratio of two gradients.

    Args:
        g_reg: ``(N, ...)`` the regularizer's gradient per item.
        g_oracle: ``(N, ...)`` the oracle gradient per item (same shape).

    Returns:
        tuple: ``cos`` ``(N,)`` (NaN where either gradient is zero) and
        ``norm_ratio`` ``(N,)`` ``|g_reg| / |g_oracle|`` (NaN where the
        oracle gradient is zero).
    """
    if g_reg.shape != g_oracle.shape:
        raise ValueError(f'gradient_agreement: shapes differ, '
                         f'{tuple(g_reg.shape)} vs {tuple(g_oracle.shape)}')
    a = g_reg.reshape(g_reg.shape[0], -1).double()
    b = g_oracle.reshape(g_oracle.shape[0], -1).double()
    na, nb = a.norm(dim=1), b.norm(dim=1)
    nan = torch.full_like(na, float('nan'))
    cos = torch.where((na > 0) & (nb > 0),
                      (a * b).sum(1) / (na * nb).clamp_min(1e-300), nan)
    ratio = torch.where(nb > 0, na / nb.clamp_min(1e-300), nan)
    return cos, ratio


def _mean_ci(values: Tensor) -> Tuple[Optional[float], Optional[float]]:
    """Mean and normal 95% half width (None where undefined)."""
    n = int(values.numel())
    if n == 0:
        return None, None
    half = 1.96 * float(values.std()) / math.sqrt(n) if n > 1 else None
    return float(values.mean()), half


def summarise(cos: Tensor, ratio: Tensor, cos_pooled: Tensor
              ) -> Dict[str, Optional[float]]:
    """Over the items that have a regularizer gradient: the mean cosine
    with its normal 95% interval (half width), the fraction of positive
    cosines, the same mean for the pooled gradients, and the median norm
    ratio; plus the counts of items and of items without gradient. None
    where a value is undefined (JSON null)."""
    has = ~torch.isnan(cos)
    c = cos[has]
    out = dict(items=int(cos.numel()), no_gradient=int((~has).sum()))
    out['cos_mean'], out['cos_ci95'] = _mean_ci(c)
    out['positive'] = float((c > 0).double().mean()) if c.numel() else None
    pooled = cos_pooled[has]
    out['pooled_cos_mean'], out['pooled_cos_ci95'] = _mean_ci(
        pooled[~torch.isnan(pooled)])
    r = ratio[has]
    r = r[~torch.isnan(r)]
    out['norm_ratio_median'] = float(r.median()) if r.numel() else None
    return out


def _check_same_draws(partial: dict, full: dict, index: int) -> None:
    a, b = partial['inputs'], full['inputs']
    if len(a) != len(b) or any(not torch.equal(x, y) for x, y in zip(a, b)):
        raise ValueError(
            f'gradient_alignment_probe: batch {index}: the partial-label '
            'and full-label batches hold different images; the oracle '
            'labels must come from the same draws (same seed, '
            'num_workers=0)')


def training_context(model: nn.Module, partial: dict,
                     regularizer: nn.Module):
    """The :class:`RegularizerContext` that ``regularizer`` receives on the
    training step of a collated batch (the step stops there)."""
    data = model.data_preprocessor(partial, True)
    try:
        with torch.enable_grad(), capturing_context(regularizer):
            model._run_forward(data, mode='loss')
    except _Captured as captured:
        return captured.ctx
    raise ValueError('gradient_alignment_probe: the regularizer was not '
                     'called (no regularizer step in model.loss)')


def _grad(loss: Optional[Tensor], inputs: Sequence[Tensor]) -> List[Tensor]:
    """``d loss / d inputs`` (zeros where ``loss`` does not reach)."""
    grads = [None] * len(inputs)
    if loss is not None and loss.requires_grad:
        grads = torch.autograd.grad(loss, list(inputs), retain_graph=True,
                                    allow_unused=True)
    return [torch.zeros_like(x) if g is None else g
            for g, x in zip(grads, inputs)]


def batch_agreement(model: nn.Module, partial: dict, full: dict,
                    regularizer: nn.Module, pool: int = 8
                    ) -> Dict[Tuple[int, str], Dict[str, Tensor]]:
    """How the regularizer's gradient on the unlabelled predictions of one
    batch agrees with the oracle gradient.

    Args:
        model: a ``MultiTaskModel`` holding ``regularizer``.
        partial: the collated partial-label batch (as training sees it).
        full: the same batch with every label.
        regularizer: the regularizer module to probe.
        pool: the coarse scale: both gradients average-pooled by this
            factor before ``cos_pooled`` (what a regularizer whose
            gradient is smooth can agree with at best).

    Returns:
        dict: ``(view, task)`` -> ``cos``, ``ratio`` (as
        :func:`gradient_agreement`) and ``cos_pooled``, ``(N,)`` each over
        the ``N`` images where the task is unlabelled.
    """
    ctx = training_context(model, partial, regularizer)
    oracle = model.data_preprocessor(full, True)['data_samples']
    losses = [v for k, v in regularizer(ctx).items() if 'loss' in k]
    total = sum(losses) if losses else None
    labelled = ctx.labelled
    items = []  # (view, task, prediction, unlabelled rows)
    oracle_losses = []
    for v, view in enumerate(ctx.preds):
        for k, (task, pred) in enumerate(view.items()):
            rows = (~labelled[:, k]).nonzero().flatten()
            target = oracle.target(task, v)
            if rows.numel() == 0 or target is None or not pred.requires_grad:
                continue
            if target.count != labelled.shape[0]:
                raise ValueError(
                    f'gradient_alignment_probe: the full-label batch lacks '
                    f'labels of task "{task}" (view {v}) for '
                    f'{labelled.shape[0] - target.count} images')
            items.append((v, task, pred, rows))
            oracle_losses.append(ctx.tasks[task].loss(
                pred[rows], target.data[rows]).sum())
    if not items:
        return {}
    preds = [pred for _, _, pred, _ in items]
    # one backward each: every oracle loss reaches its own prediction only
    g_regs = _grad(total, preds)
    g_oracles = _grad(sum(oracle_losses), preds)
    on_preds: Dict[Tuple[int, str], Dict[str, Tensor]] = {}
    for (v, task, _, rows), g_reg, g_oracle in zip(items, g_regs, g_oracles):
        g_reg, g_oracle = g_reg[rows].float(), g_oracle[rows].float()
        cos, ratio = gradient_agreement(g_reg, g_oracle)
        size = [max(1, n // pool) for n in g_reg.shape[-2:]]
        cos_pooled, _ = gradient_agreement(
            F.adaptive_avg_pool2d(g_reg, size),
            F.adaptive_avg_pool2d(g_oracle, size))
        on_preds[(v, task)] = dict(cos=cos, ratio=ratio,
                                   cos_pooled=cos_pooled)
    return on_preds


Summary = Dict[str, Optional[float]]


def probe(model: nn.Module, batches: Sequence[Tuple[dict, dict]],
          regularizer: Optional[str] = None, pool: int = 8
          ) -> Dict[str, Summary]:
    """Agreement of a regularizer's gradient with the oracle gradient.

    Args:
        model: a ``MultiTaskModel`` with the regularizer.
        batches: pairs (partial-label batch, the same batch with every
            label), as the dataloader yields them.
        regularizer: its name (``reg.name``); None: the first one.
        pool: the coarse scale of ``cos_pooled`` (:func:`batch_agreement`).

    Returns:
        dict: ``'view<v>/<task>'`` and ``'all'`` -> :func:`summarise`.
    """
    reg = find_regularizer(model, regularizer, 'gradient_alignment_probe')
    model.train()  # the training step's normalisation statistics
    # train-mode passes update running statistics: restored after each
    # batch, so that every batch probes the checkpoint's network
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    parts: Dict[Tuple[int, str], List[Dict[str, Tensor]]] = {}
    for i, (partial, full) in enumerate(batches):
        _check_same_draws(partial, full, i)
        on_preds = batch_agreement(model, partial, full, reg, pool)
        with torch.no_grad():
            for key, value in model.named_buffers():
                value.copy_(buffers[key])
        for key, value in on_preds.items():
            parts.setdefault(key, []).append(value)
    if not parts:
        raise ValueError('gradient_alignment_probe: no unlabelled (image, '
                         'task) pair in the batches')
    merged = {
        key: {name: torch.cat([v[name] for v in values])
              for name in values[0]}
        for key, values in sorted(parts.items())
    }
    out: Dict[str, Summary] = {
        f'view{v}/{task}': summarise(**values)
        for (v, task), values in merged.items()
    }
    out['all'] = summarise(**{
        name: torch.cat([values[name] for values in merged.values()])
        for name in ('cos', 'ratio', 'cos_pooled')
    })
    if out['all']['cos_mean'] is None:
        warnings.warn(
            f'gradient_alignment_probe: the gradient of regularizer '
            f'{reg.name!r} ({type(reg).__name__}) reaches none of the '
            'unlabelled predictions (e.g. DGR acts on the head inputs): '
            'nothing to compare')
    return out


def paired_batches(train_dataloader: dict, count: int, seed: int
                   ) -> List[Tuple[dict, dict]]:
    """``count`` training batches drawn twice with the same seed: as
    configured (partial labels) and with ``partial_labels=Full``."""
    full = copy.deepcopy(dict(train_dataloader))
    full['dataset'] = dict(full['dataset'], partial_labels=dict(type='Full'))
    return list(zip(training_batches(train_dataloader, count, seed),
                    training_batches(full, count, seed)))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = probe_parser(
        "Cosine between a regularizer's gradient on the unlabelled "
        'predictions and the gradient of their withheld labels', batches=5)
    parser.add_argument('--pool', type=int, default=8,
                        help='pooling factor of the coarse-scale cosine '
                        '(default 8)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.pool < 1:
        raise ValueError(f'--pool must be >= 1, got {args.pool}')
    model = load_probed_model(args)
    batches = paired_batches(model.cfg.train_dataloader, args.batches,
                             args.seed)
    result = probe(model, batches, args.regularizer, args.pool)
    write_json(dict(config=args.config, checkpoint=args.checkpoint,
                    batches=args.batches, seed=args.seed, pool=args.pool,
                    agreement=result), args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
