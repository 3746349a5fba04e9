# Copyright (c) mtlpartial contributors. All rights reserved.
"""The interface between a multi-task model and its regularizers.

A regularizer is an ``nn.Module`` owned by the model (so its parameters are
optimised, checkpointed and can get their own paramwise lr). On every
training step the model calls ``reg(ctx)`` with a
:class:`RegularizerContext` and adds the returned losses to its loss dict
as ``<reg.name>.loss_<term>``. Those terms are *not* subject to task
balancing or gradient surgery: optim wrappers add them after combining the
task gradients.

A regularizer never sees labels of unlabelled tasks: the batch only carries
:class:`~mtlpartial.structures.LabelledTarget` objects, i.e. ground truth of
the labelled samples.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

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
        heads: the model's task heads (``{task: module}``), e.g. to copy
            their architecture.
        head_forward: ``head_forward(task, head_module, head_input)``
            returns the activated, upsampled prediction of ``head_module``
            exactly as the model computes it for its real head.
    """
    tasks: Dict[str, BaseTask]
    batch: MultiTaskBatch
    preds: List[Dict[str, Tensor]]
    feats: List[Tensor]
    head_inputs: List[Tuple[Tensor, ...]]
    task_loss: Callable[[str, Tensor, int], Tensor]
    sample_mean: Callable[[Tensor], Tensor]
    iter: int = 0
    heads: Dict[str, 'BaseModule'] = field(default_factory=dict)
    head_forward: Optional[Callable] = None

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
        init_cfg (dict, optional): mmengine init config.

    Subclasses set ``num_views`` (the augmented views the method needs) and
    implement :meth:`forward`, returning ``{'loss_<term>': Tensor}``.
    """
    default_name = 'reg'
    num_views = 1

    def __init__(self, name: Optional[str] = None, loss_weight: float = 1.0,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.name = name or self.default_name
        self.loss_weight = float(loss_weight)

    def setup(self, model) -> None:
        """Called once by the model after it has built its heads (e.g. DGR
        copies the head architecture here). Defaults to a no-op."""

    def forward(self, ctx: RegularizerContext) -> Dict[str, Tensor]:
        raise NotImplementedError
