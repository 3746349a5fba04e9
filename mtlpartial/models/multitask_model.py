# Copyright (c) mtlpartial contributors. All rights reserved.
"""The multi-task dense prediction model."""
import logging
from collections import OrderedDict
from functools import partial
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from torch import Tensor
from torch.profiler import record_function

from mtlpartial.registry import MODELS
from mtlpartial.structures import MultiTaskBatch, MultiTaskLosses
from mtlpartial.tasks import BaseTask, build_tasks
from .diagnostics import gradient_norm_ratios
from .loss_normalizer import NORMALIZATIONS, LossNormalizer
from .regularizers import RegularizerContext
from .model_utils import (build_heads, build_regularizers,
                          check_finite_losses, crop_to_image, reduce_log_vars,
                          runner_iter, runner_iters_per_epoch)

#: how the augmented views pass through the network (``train_cfg.view_norm``)
VIEW_NORMS = ('joint', 'per_view')


@MODELS.register_module()
class MultiTaskModel(BaseModel):
    """A shared backbone (+ optional neck) with one head per task.

    Modes: ``loss`` (:class:`~mtlpartial.structures.MultiTaskLosses`: the
    per-task and regularizer losses, the active tasks and the shared
    representation; a read-only loss dict too), ``predict`` (data samples
    with ``pred_<task>``) and ``tensor`` (dict of activated predictions).

    ``train_step`` hands the losses to ``MultiTaskOptimWrapper``'s
    ``update_multitask``, the only training-step path (build the wrapper
    with ``constructor='MultiTaskOptimWrapperConstructor'``, which reads
    the structure of the model once: ``task_names`` and
    ``shared_parameters()``).

    Losses are computed from the labelled (image, task) pairs only; see
    docs/design.md "Loss normalisation". With ``normalize='image'`` (the
    default) the sum of the task losses is Eq. (1) of MTPSL:
    ``1/N Σ_n 1/|T_n| Σ_{t∈T_n} L_t``; ``'batch'`` is the official
    MTPSL/JTR code (``Σ_{t∈T_n} L_t / B``); ``'task'`` averages each task
    over its labelled samples. Counts are global under distributed
    training, so a K-rank run computes the loss of the concatenated batch.

    Args:
        tasks (dict): ``{name: task spec cfg}``; the order is the task order.
        backbone (dict): backbone config; any mmseg backbone with the
            ``mmseg.`` prefix, or ``MTANSegNet``.
        heads (dict): either one head config used for every task (has a
            ``type`` key) or ``{task: head cfg}``. ``out_channels`` is set
            from the task spec.
        neck (dict, optional): neck config.
        regularizers (list[dict], optional): partial-label regularizers
            (MTPSL, JTR, DGR, ...). Their losses are added as
            ``<name>.loss_<term>``.
        feat_index (int): which backbone(+neck) output is the shared
            feature given to regularizers (``ctx.feats``). Defaults to 0
            (the SegNet bottleneck).
        normalize (str): 'image', 'batch' or 'task'. Defaults to 'image'.
        align_corners (bool): for upsampling head outputs to the input
            size. Defaults to True (MTAN / DGR).
        train_cfg (dict, optional): ``nan_check_interval`` (int, default 1):
            check the loss for NaN/Inf every N iterations and stop with a
            message (no parameter update, so no bad checkpoint).
            ``diagnostics_interval`` (int, default 0 = off): every N
            iterations log ``<reg>.grad_ratio`` (norm of the regularizer's
            gradient on the shared parameters over that of the supervised
            task losses; two extra backward passes per regularizer) and the
            regularizers' own diagnostics (``<reg>.cos_gap``: same-image
            minus cross-image cosine in their joint spaces), see
            :class:`RegularizerDiagnosticsHook`.
            ``view_norm`` (str, default ``'joint'``): how the augmented
            views of multi-view regularizers (MTPSL, JTR, SSL) pass through
            the MTL network in training. ``'joint'``, as the official
            code: all ``V * B`` images in one forward, so BatchNorm's batch
            statistics mix the views (crops and flips) with view 0, which
            carries the supervised loss. ``'per_view'``: backbone and heads
            run on each view's ``B`` images on their own, so view 0 is
            normalised as in supervised MTL; the running statistics are
            still updated by every view. Not in the official code; the
            control ``jtr_viewsonly`` in docs/results.md is why it exists.
            Unknown ``train_cfg`` keys are an error.
        data_preprocessor (dict, optional): defaults to
            ``MultiTaskDataPreprocessor``.
        init_cfg (dict, optional): mmengine init config.
    """

    TRAIN_CFG_KEYS = ('nan_check_interval', 'diagnostics_interval',
                      'view_norm')

    def __init__(self,
                 tasks: dict,
                 backbone: dict,
                 heads: dict,
                 neck: Optional[dict] = None,
                 regularizers: Optional[Sequence[dict]] = None,
                 feat_index: int = 0,
                 normalize: str = 'image',
                 align_corners: bool = True,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='MultiTaskDataPreprocessor')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.tasks: 'OrderedDict[str, BaseTask]' = build_tasks(tasks)
        if normalize not in NORMALIZATIONS:
            raise ValueError(f'model.normalize must be one of '
                             f'{NORMALIZATIONS}, got {normalize!r}')
        self.normalize = normalize
        self.align_corners = align_corners
        self.feat_index = feat_index
        self.train_cfg = dict(train_cfg or {})
        unknown = set(self.train_cfg) - set(self.TRAIN_CFG_KEYS)
        if unknown:
            raise KeyError(f'model.train_cfg: unknown keys {sorted(unknown)}; '
                           f'known: {list(self.TRAIN_CFG_KEYS)}')
        self.view_norm = self.train_cfg.get('view_norm', 'joint')
        if self.view_norm not in VIEW_NORMS:
            raise ValueError(f'model.train_cfg.view_norm must be one of '
                             f'{VIEW_NORMS}, got {self.view_norm!r}')
        self.test_cfg = dict(test_cfg or {})
        self.nan_check_interval = int(
            self.train_cfg.get('nan_check_interval', 1))
        self.diagnostics_interval = int(
            self.train_cfg.get('diagnostics_interval', 0))
        if hasattr(self.data_preprocessor, 'set_tasks'):
            self.data_preprocessor.set_tasks(self.tasks)

        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.heads = build_heads(heads, self.tasks)
        self.regularizers = build_regularizers(regularizers or [], self.tasks,
                                               self.heads)
        self.num_views = max([1] + [r.num_views for r in self.regularizers])
        if self.view_norm == 'per_view' and self.num_views == 1:
            print_log('model.train_cfg.view_norm=\'per_view\' has no '
                      'effect: no regularizer uses augmented views',
                      logger='current', level=logging.WARNING)
        self._iter = 0

    # ------------------------------------------------------------ structure
    @property
    def task_names(self) -> Tuple[str, ...]:
        return tuple(self.tasks)

    def shared_parameters(self) -> List[nn.Parameter]:
        """Parameters of the shared part (backbone and neck)."""
        params = list(self.backbone.parameters())
        if self.neck is not None:
            params += list(self.neck.parameters())
        return [p for p in params if p.requires_grad]

    def head_input_indices(self, num_feats: int) -> List[int]:
        """Indices of the backbone (neck) outputs the heads read.

        They form the shared representation of rep-grad updates
        (``MultiTaskLosses.shared_representation``): all outputs when a
        head does not declare an ``in_index``. A backbone may return nested
        features (MTAN SegNet returns the bottleneck *and* the decoder
        output computed from it), and a rep-grad update that also took the
        bottleneck's total gradient would count the task gradients of the
        encoder twice.
        """
        used = set()
        for head in self.heads.values():
            index = getattr(head, 'in_index', None)
            if index is None:  # e.g. MMSegHeadAdapter: the mmseg head's
                index = getattr(getattr(head, 'head', None), 'in_index',
                                None)
            if index is None:
                return list(range(num_feats))
            for i in index if isinstance(index, (list, tuple)) else [index]:
                used.add(int(i) % num_feats)
        return sorted(used)

    # -------------------------------------------------------------- forward
    def check_input_size(self, inputs: Tensor) -> None:
        """Refuse inputs that the backbone's total stride does not divide
        (pixels past the last full stride would be dropped silently)."""
        divisor = getattr(self.backbone, 'size_divisor', None)
        h, w = inputs.shape[-2:]
        if divisor and (h % divisor or w % divisor):
            raise ValueError(
                f'input size {h}x{w} is not divisible by the total stride '
                f'{divisor} of {type(self.backbone).__name__}: the last '
                f'{h % divisor} rows and {w % divisor} columns would never '
                'reach the bottleneck. Set model.data_preprocessor.'
                f'size_divisor={divisor} (pads the images, marks padded '
                'labels invalid, crops predictions back) or use an input '
                f'size divisible by {divisor}')

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        self.check_input_size(inputs)
        feats = self.backbone(inputs)
        if self.neck is not None:
            feats = self.neck(feats)
        if isinstance(feats, Tensor):
            feats = (feats, )
        return tuple(feats)

    def forward_views(self, fn: Callable, x: Union[Tensor, Sequence[Tensor]],
                      batch_size: int):
        """``fn(x)`` on the stacked views ``x`` (each tensor ``(V*B, ...)``,
        view-major), jointly or one view at a time (``train_cfg.view_norm``);
        ``fn`` returns a tensor or a tuple of tensors, concatenated back in
        view order either way."""
        if self.view_norm == 'joint' or self.num_views == 1:
            return fn(x)
        # a loop over the views, not the batch: each view's BatchNorm
        # statistics are its own
        if isinstance(x, Tensor):
            chunks = x.split(batch_size)
        else:
            chunks = list(zip(*(t.split(batch_size) for t in x)))
        outs = [fn(chunk) for chunk in chunks]
        if isinstance(outs[0], Tensor):
            return torch.cat(outs)
        return tuple(torch.cat(level) for level in zip(*outs))

    def head_forward(self, task: str, head: nn.Module,
                     head_inputs: Sequence[Tensor],
                     size: Tuple[int, int]) -> Tensor:
        """Head output upsampled to ``size`` and activated by the spec."""
        out = head(head_inputs)
        if out.shape[-2:] != tuple(size):
            out = F.interpolate(
                out, size=size, mode='bilinear',
                align_corners=self.align_corners)
        return self.tasks[task].activate(out)

    def _forward(self, inputs: Tensor, data_samples=None) -> Dict[str, Tensor]:
        feats = self.extract_feat(inputs)
        size = inputs.shape[-2:]
        return {
            t: self.head_forward(t, self.heads[t], feats, size)
            for t in self.tasks
        }

    def forward(self, inputs: Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, '
                           'predict and tensor mode')

    # ----------------------------------------------------------------- loss
    def task_loss(self, task: str, pred: Tensor, batch: MultiTaskBatch,
                  norm: LossNormalizer, view: int = 0,
                  labelled_only: bool = False) -> Tensor:
        """Normalised loss of ``task`` for ``pred`` ``(B, C, H, W)``.

        Only the samples labelled for ``task`` enter (``labelled_only``:
        ``pred`` has only their rows); zero (no graph) if there are none.
        """
        target = batch.target(task, view)
        if target is None:
            return pred.new_zeros(())
        if labelled_only and pred.shape[0] != target.count:
            raise ValueError(f'task_loss("{task}", labelled_only=True): '
                             f'{pred.shape[0]} rows for {target.count} '
                             f'labelled samples (view {view})')
        spec = self.tasks[task]
        per_sample = spec.loss(pred if labelled_only else pred[target.index],
                               target.data)
        k = self.task_names.index(task)
        return spec.loss_weight * norm.task_total(k, per_sample,
                                                  target.index)

    def loss(self, inputs: Tensor, batch: MultiTaskBatch) -> MultiTaskLosses:
        if not isinstance(batch, MultiTaskBatch):
            raise TypeError('MultiTaskModel.loss expects a MultiTaskBatch; '
                            'use MultiTaskDataPreprocessor')
        b = batch.batch_size
        if batch.num_views < self.num_views:
            raise ValueError(
                f'the regularizers {[r.name for r in self.regularizers]} '
                f'need {self.num_views} augmented views but the batch has '
                f'{batch.num_views}; add dict(type=\'MultiView\', '
                f'num_views={self.num_views}, ...) to the train pipeline')
        inputs = inputs[:b * self.num_views]
        norm = LossNormalizer.from_labelled(self.normalize, batch.labelled)
        # record_function scopes name the stages in torch.profiler traces
        # (tools/analysis_tools/benchmark.py --profile)
        with record_function('mtl.backbone'):
            feats = self.forward_views(self.extract_feat, inputs, b)
        size = inputs.shape[-2:]
        views = range(self.num_views)
        preds, task_terms = self.decode_and_supervise(feats, size, batch,
                                                      norm)
        task_losses = [task_terms[f'loss_{t}'] for t in self.tasks]
        it = runner_iter(default=self._iter)
        diagnose = self.diagnostics_due(it)
        reg_losses: Dict[str, Tensor] = OrderedDict()
        log_values: Dict[str, Tensor] = OrderedDict()
        if self.regularizers:
            head_inputs = [
                tuple(f[v * b:(v + 1) * b] for f in feats) for v in views
            ]
            ctx = RegularizerContext(
                tasks=self.tasks,
                batch=batch,
                preds=preds,
                feats=[h[self.feat_index] for h in head_inputs],
                head_inputs=head_inputs,
                task_loss=lambda t, p, v: self.task_loss(t, p, batch, norm, v),
                sample_mean=norm.sample_mean,
                iter=it,
                iters_per_epoch=runner_iters_per_epoch(),
                diagnostics=diagnose,
                head_forward=lambda t, head, x: self.head_forward(
                    t, head, x, size),
                images=[
                    self.data_preprocessor.denormalize(
                        inputs[v * b:(v + 1) * b]) for v in views
                ])
            for reg in self.regularizers:
                with record_function(f'mtl.reg.{reg.name}'):
                    terms = reg.regularize(ctx)
                for key, value in terms.items():
                    # loss terms are trained; other entries (diagnostics
                    # such as cos_gap) are logged
                    out = reg_losses if 'loss' in key else log_values
                    out[f'{reg.name}.{key}'] = value
        if diagnose:
            log_values.update(
                gradient_norm_ratios({**task_terms, **reg_losses},
                                     self.task_names,
                                     [r.name for r in self.regularizers],
                                     self.shared_parameters()))
        return MultiTaskLosses(
            task_names=self.task_names,
            task_losses=task_losses,
            task_active=norm.task_active.cpu(),
            regularizer_losses=reg_losses,
            shared_representation=[
                feats[i] for i in self.head_input_indices(len(feats))
                if feats[i].requires_grad
            ],
            log_values=log_values)

    # ------------------------------------------ seam for model families
    def decode_and_supervise(self, feats: Tuple[Tensor, ...], size,
                             batch: MultiTaskBatch, norm: LossNormalizer
                             ) -> Tuple[List[Dict[str, Tensor]],
                                        Dict[str, Tensor]]:
        """Training predictions (per view ``{task: (B, C, *size)}``, for the
        regularizers; ``[]`` allowed without any) and ``{'loss_<task>'}``
        from the shared features: what model families (e.g. DiffusionMTL)
        override."""
        b = batch.batch_size
        with record_function('mtl.heads'):
            preds_all = {
                t: self.forward_views(
                    partial(self.head_forward, t, self.heads[t], size=size),
                    feats, b)
                for t in self.tasks
            }
        preds = [{t: p[v * b:(v + 1) * b] for t, p in preds_all.items()}
                 for v in range(self.num_views)]
        with record_function('mtl.task_losses'):
            losses = OrderedDict(
                (f'loss_{t}', self.task_loss(t, preds[0][t], batch, norm, 0))
                for t in self.tasks)
        return preds, losses

    def diagnostics_due(self, it: int) -> bool:
        """Whether this iteration logs diagnostics
        (``train_cfg.diagnostics_interval`` > 0)."""
        interval = self.diagnostics_interval
        return interval > 0 and it % interval == 0

    # -------------------------------------------------------------- predict
    def predict(self, inputs: Tensor, data_samples=None) -> list:
        b = len(data_samples) if data_samples is not None else inputs.shape[0]
        preds = self._forward(inputs[:b])
        if data_samples:
            preds = crop_to_image(preds, data_samples[0].metainfo)
        outputs = [self.tasks[t].to_prediction(p) for t, p in preds.items()]
        samples = list(data_samples) if data_samples is not None else []
        if not samples:
            from mtlpartial.structures import MultiTaskDataSample
            samples = [
                MultiTaskDataSample(metainfo=dict(tasks=self.task_names))
                for _ in range(b)
            ]
        for t, out in zip(self.tasks, outputs):
            out = out.detach()
            for i, sample in enumerate(samples):
                sample.set_pred(t, out[i])
        return samples

    # ----------------------------------------------------------- train step
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper,
                   ddp: Optional[nn.Module] = None) -> Dict[str, Tensor]:
        """Forward, NaN guard, then the optim wrapper's
        ``update_multitask(losses)`` (balancing, gradient sync, step).

        Args:
            data: a batch of the dataloader.
            optim_wrapper: a ``MultiTaskOptimWrapper``.
            ddp (nn.Module, optional): the torch DDP wrapper around this
                model (``MultiTaskDistributedWrapper`` passes itself): the
                forward runs through it, so that its reducer sums the
                gradients of the backward.
        """
        update = getattr(optim_wrapper, 'update_multitask', None)
        if update is None:
            raise TypeError(
                f'MultiTaskModel trains with MultiTaskOptimWrapper, got '
                f'{type(optim_wrapper).__name__}. Write optim_wrapper = '
                "dict(type='MultiTaskOptimWrapper', constructor="
                "'MultiTaskOptimWrapperConstructor', optimizer=...): with "
                'the default balancer EW it takes one backward of the '
                "summed losses, like 'OptimWrapper' (use "
                "'MultiTaskAmpOptimWrapper' for 'AmpOptimWrapper')")
        forward = self if ddp is None else ddp
        with optim_wrapper.optim_context(forward):
            data = self.data_preprocessor(data, True)
            losses = forward._run_forward(data, mode='loss')
        self._iter += 1
        if self.nan_check_interval > 0 and \
                self._iter % self.nan_check_interval == 0:
            # the iteration of the run (global across resumes), 1-based;
            # every rank stops (the flags are summed) before any backward
            check_finite_losses(losses,
                                runner_iter(default=self._iter - 1) + 1)
        _, log_vars = self.parse_losses(losses)
        log_vars.update(update(losses) if ddp is None else
                        update(losses, data_parallel=True))
        return reduce_log_vars(log_vars)
