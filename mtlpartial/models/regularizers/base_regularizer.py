# Copyright (c) mtlpartial contributors. All rights reserved.
"""The interface between a multi-task model and its regularizers.

A regularizer is an ``nn.Module`` owned by the model (so its parameters are
optimised, checkpointed and can get their own paramwise lr). Two calls:

* once, after the model has built its heads: ``setup(tasks, heads)`` with
  the ordered task specs and the task heads (the only parts of the model a
  regularizer may know; DGR copies the heads' architecture, MTPSL and JTR
  size their networks from the task encodings);
* every training step: ``regularize(ctx)`` with a
  :class:`RegularizerContext` (checks it, applies the warm-up and ramp,
  calls ``forward``). The model adds the returned losses to
  ``MultiTaskLosses.regularizer_losses`` as ``<reg.name>.loss_<term>``
  (other entries, diagnostics, are logged). Those terms are *not* subject
  to task balancing or gradient surgery: the optim wrapper adds them after
  combining the task gradients.

A regularizer never sees labels of unlabelled tasks: the batch only carries
:class:`~mtlpartial.structures.LabelledTarget` objects, i.e. ground truth of
the labelled samples.
"""
import dataclasses
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mtlpartial.structures import MultiTaskBatch
from mtlpartial.tasks import BaseTask


@dataclass
class RegularizerContext:
    """Everything a regularizer may use on one training step.

    Attributes:
        tasks: the model's task specs, ordered.
        batch: the preprocessed batch (label mask and labelled-only
            targets, per view).
        preds: per view, ``{task: activated prediction (B, C, H, W)}`` at
            input resolution (segmentation/binary: logits; normals: unit).
        feats: per view, the shared representation used as the feature
            target of MTPSL's regularisation (``(B, C, h, w)``; by default
            the backbone output selected by the model's ``feat_index``).
        head_inputs: per view, what the task heads consume (the output of
            backbone + neck), with graph.
        task_loss: ``task_loss(task, pred, view)`` returns the normalised
            loss of ``task`` for prediction ``pred`` (whole batch,
            ``(B, C, H, W)``) over the labelled samples of ``view``, with
            the same normalisation (and DDP global counts) as the model's
            own ``loss_<task>``. Returns a zero tensor if no sample is
            labelled.
        sample_mean: ``sample_mean(values)`` averages per-sample terms
            ``(B,)`` over the *global* batch (sum / global batch size,
            scaled so that DDP's gradient averaging gives the global-batch
            gradient). Use it for every per-sample regularizer term.
        iter: current training iteration (for ramp-ups).
        iters_per_epoch: iterations per epoch when the train loop is
            epoch based, else None (for epoch ramp-ups).
        diagnostics: True on the iterations where the model logs
            diagnostics (``model.train_cfg.diagnostics_interval``):
            regularizers may then return non-loss entries such as
            ``cos_gap`` (see :meth:`BaseRegularizer.forward`).
        head_forward: ``head_forward(task, head_module, head_input)``
            returns the activated, upsampled prediction of ``head_module``
            exactly as the model computes it for its real head.
        images: per view, the input images ``(B, 3, H, W)`` in the scale of
            the packed inputs (float, [0, 1] in mtlpartial; the data
            preprocessor's normalisation undone), without graph. Padded
            pixels (``size_divisor``) hold the padding value;
            ``batch.valid_region()`` marks the image.
    """
    tasks: Dict[str, BaseTask]
    batch: MultiTaskBatch
    preds: List[Dict[str, Tensor]]
    feats: List[Tensor]
    head_inputs: List[Tuple[Tensor, ...]]
    task_loss: Callable[[str, Tensor, int], Tensor]
    sample_mean: Callable[[Tensor], Tensor]
    iter: int = 0
    iters_per_epoch: Optional[float] = None
    diagnostics: bool = False
    head_forward: Optional[Callable] = None
    images: Optional[List[Tensor]] = None

    def detached(self) -> 'RegularizerContext':
        """The same context with every tensor of the MTL network detached
        (predictions, features, head inputs): whatever a regularizer
        computes from it trains its own networks only."""
        return dataclasses.replace(
            self,
            preds=[{t: p.detach() for t, p in view.items()}
                   for view in self.preds],
            feats=[f.detach() for f in self.feats],
            head_inputs=[tuple(x.detach() for x in view)
                         for view in self.head_inputs])

    @property
    def task_names(self) -> Sequence[str]:
        return tuple(self.tasks)

    @property
    def num_views(self) -> int:
        return len(self.preds)

    @property
    def labelled(self) -> Tensor:
        """``(B, K)`` bool label mask."""
        return self.batch.labelled


class BaseRegularizer(BaseModule):
    """Base class of partial-label regularizers.

    Args:
        name (str): prefix of its loss keys. Defaults to the class's
            ``default_name``.
        loss_weight (float): global weight of the returned losses.
        warmup_iters (int): for the first ``warmup_iters`` iterations the
            regularizer sees a detached context (:meth:`RegularizerContext.
            detached`): its own networks (MTPSL's mappings, JTR's
            auto-encoder, ...) train on detached predictions, and no
            regularizer gradient reaches the MTL network. Not in the
            official code (stability option, docs/results.md). Defaults to
            0 (official).
        rampup_epochs (float): multiply the losses by ``min(1, progress /
            rampup_epochs)`` with ``progress`` in epochs since the start
            of training (after the warm-up, if any: the ramp starts at
            ``warmup_iters``). MTPSL's official ``--rampup up`` is
            ``rampup_epochs=100``. Needs an epoch-based train loop.
            Defaults to 0 (no ramp, the official default ``fixed``).
        rampup_iters (int): the same ramp in iterations (for iteration-
            based loops). At most one of the two. Defaults to 0.
        init_cfg (dict, optional): mmengine init config.

    Subclasses set ``num_views`` (the augmented views the method needs) and
    ``min_tasks``, build their networks in :meth:`build` and implement
    :meth:`forward`, returning ``{'loss_<term>': Tensor}``. The model calls
    :meth:`setup` once and :meth:`regularize` every step, which checks the
    context (:meth:`check_context`) and applies the warm-up and the ramp.
    """
    default_name = 'reg'
    num_views = 1
    min_tasks = 1

    def __init__(self, name: Optional[str] = None, loss_weight: float = 1.0,
                 warmup_iters: int = 0, rampup_epochs: float = 0.0,
                 rampup_iters: int = 0, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.name = name or self.default_name
        self.loss_weight = float(loss_weight)
        for key, value in (('warmup_iters', warmup_iters),
                           ('rampup_epochs', rampup_epochs),
                           ('rampup_iters', rampup_iters)):
            if value is None or float(value) < 0:
                raise ValueError(f'{type(self).__name__}.{key} must be >= 0, '
                                 f'got {value!r}')
        if rampup_epochs and rampup_iters:
            raise ValueError(f'{type(self).__name__}: give rampup_epochs or '
                             'rampup_iters, not both')
        self.warmup_iters = int(warmup_iters)
        self.rampup_epochs = float(rampup_epochs)
        self.rampup_iters = int(rampup_iters)
        self.task_names: Tuple[str, ...] = ()

    # ------------------------------------------------------------ set-up
    def setup(self, tasks: Mapping[str, BaseTask],
              heads: Mapping[str, nn.Module]) -> None:
        """Called once by the model after it has built its heads.

        Records the task order (checked on every step) and calls
        :meth:`build`.

        Args:
            tasks: the model's task specs, in task order.
            heads: the model's task heads, ``{task: module}``.

        Raises:
            ValueError: with fewer than ``min_tasks`` tasks.
        """
        if len(tasks) < self.min_tasks:
            raise ValueError(f'{type(self).__name__} needs >= '
                             f'{self.min_tasks} tasks, got {list(tasks)}')
        self.task_names = tuple(tasks)
        self.build(tasks, heads)

    def build(self, tasks: Mapping[str, BaseTask],
              heads: Mapping[str, nn.Module]) -> None:
        """Build the regularizer's networks for ``tasks`` (and ``heads``).
        Defaults to none."""

    def check_context(self, ctx: RegularizerContext) -> None:
        """The context matches what the regularizer was built for.

        Raises:
            RuntimeError: if :meth:`setup` was not called.
            ValueError: for other tasks or too few views.
        """
        if not self.task_names:
            raise RuntimeError(
                f'{type(self).__name__}.setup(tasks, heads) was not called '
                '(the model calls it after building its heads)')
        if tuple(ctx.tasks) != self.task_names:
            raise ValueError(f'{self.name}: built for tasks '
                             f'{self.task_names}, got {tuple(ctx.tasks)}')
        if ctx.num_views < self.num_views:
            raise ValueError(f'{self.name} needs {self.num_views} views, got '
                             f'{ctx.num_views}')

    def zero_loss(self, like: Tensor) -> Tensor:
        """A zero loss that touches every parameter of the regularizer, so
        that every rank runs the same backward when a batch gives the
        regularizer nothing to do."""
        return sum(p.sum() for p in self.parameters()) * 0.0 + \
            like.new_zeros(())

    def in_warmup(self, it: int) -> bool:
        """True while the regularizer must not reach the MTL network."""
        return it < self.warmup_iters

    def rampup_factor(self, ctx: RegularizerContext) -> float:
        """Weight of the losses at this iteration (1 without a ramp)."""
        if self.rampup_iters:
            done = ctx.iter - self.warmup_iters
            return min(1.0, max(0.0, done / self.rampup_iters))
        if self.rampup_epochs:
            if not ctx.iters_per_epoch:
                raise ValueError(
                    f'{self.name}: rampup_epochs needs an epoch-based train '
                    'loop (the iterations per epoch are unknown); use '
                    'rampup_iters')
            done = (ctx.iter - self.warmup_iters) / ctx.iters_per_epoch
            return min(1.0, max(0.0, done / self.rampup_epochs))
        return 1.0

    def regularize(self, ctx: RegularizerContext) -> Dict[str, Tensor]:
        """:meth:`forward` under the warm-up and ramp schedule.

        Loss entries (keys with 'loss') are scaled by :meth:`rampup_factor`;
        other entries (diagnostics) are returned as they are.
        """
        self.check_context(ctx)
        if self.in_warmup(ctx.iter):
            ctx = ctx.detached()
        terms = self(ctx)
        factor = 1.0 if self.in_warmup(ctx.iter) else \
            self.rampup_factor(ctx)
        if factor == 1.0:
            return terms
        return {
            k: v * factor if 'loss' in k else v
            for k, v in terms.items()
        }

    def forward(self, ctx: RegularizerContext) -> Dict[str, Tensor]:
        raise NotImplementedError
