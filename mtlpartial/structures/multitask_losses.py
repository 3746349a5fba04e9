# Copyright (c) mtlpartial contributors. All rights reserved.
"""The result of one multi-task forward: what the model hands to the optim
wrapper."""
from dataclasses import dataclass, field
from typing import Dict, Iterator, Mapping, Optional, Tuple

import torch
from torch import Tensor


@dataclass(eq=False)
class MultiTaskLosses(Mapping):
    """Losses of one training forward (``MultiTaskModel.loss``), given to
    ``MultiTaskOptimWrapper.update_multitask`` by ``train_step``.

    Attributes:
        task_names (tuple[str]): the task order (K tasks).
        task_losses (tuple[Tensor]): K scalars in task order, each
            normalised by global counts (docs/design.md, "Loss
            normalisation"); a zero tensor without graph when no sample of
            this rank is labelled for the task.
        task_active (Tensor): ``(K,)`` bool, the task is labelled somewhere
            in the *global* batch (identical on every rank). Inactive
            tasks sit out the balancing.
        regularizer_losses (dict[str, Tensor]): ``'<reg>.loss_<term>'`` ->
            tensor; added after the task gradients are combined, never
            balanced.
        shared_representation (tuple[Tensor]): the shared features the
            heads read, with graph (used in ``rep_grad`` mode). They must
            not depend on each other.
        log_values (dict[str, Tensor]): values to log that are not losses
            (their keys must not contain 'loss').

    As a read-only mapping it is the familiar mmengine loss dict:
    ``loss_<task>`` for each task, then the regularizer terms, then the log
    values, so ``BaseModel.parse_losses`` and tools that index losses by
    name work unchanged.
    """
    task_names: Tuple[str, ...]
    task_losses: Tuple[Tensor, ...]
    task_active: Tensor
    regularizer_losses: Dict[str, Tensor] = field(default_factory=dict)
    shared_representation: Tuple[Tensor, ...] = ()
    log_values: Dict[str, Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.task_names = tuple(self.task_names)
        self.task_losses = tuple(self.task_losses)
        self.shared_representation = tuple(self.shared_representation)
        k = len(self.task_names)
        if len(self.task_losses) != k:
            raise ValueError(f'MultiTaskLosses: {len(self.task_losses)} task '
                             f'losses for the {k} tasks {self.task_names}')
        for name, value in zip(self.task_names, self.task_losses):
            if not isinstance(value, Tensor) or value.numel() != 1:
                raise ValueError(
                    f'MultiTaskLosses: the loss of task "{name}" must be a '
                    f'scalar tensor, got {type(value).__name__} '
                    f'{tuple(getattr(value, "shape", ()))}')
        active = torch.as_tensor(self.task_active)
        if active.dtype != torch.bool or active.shape != (k, ):
            raise ValueError(f'MultiTaskLosses.task_active must be a ({k},) '
                             f'bool tensor, got {active.dtype} '
                             f'{tuple(active.shape)}')
        self.task_active = active
        for key in self.regularizer_losses:
            if 'loss' not in key or key in self.task_keys:
                raise KeyError(f'MultiTaskLosses: regularizer term "{key}" '
                               "must contain 'loss' and differ from the "
                               f'task losses {self.task_keys}')
        for key in self.log_values:
            if 'loss' in key:
                raise KeyError(f'MultiTaskLosses: log value "{key}" contains'
                               " 'loss'; losses belong in task_losses or "
                               'regularizer_losses')

    @property
    def task_keys(self) -> Tuple[str, ...]:
        """``loss_<task>`` for each task, in task order."""
        return tuple(f'loss_{t}' for t in self.task_names)

    def regularizer_total(self) -> Optional[Tensor]:
        """Sum of the regularizer terms (None when there is none)."""
        terms = [v.mean() for v in self.regularizer_losses.values()]
        return sum(terms) if terms else None

    # ------------------------------------------------------------ mapping
    def _items(self) -> Dict[str, Tensor]:
        out = dict(zip(self.task_keys, self.task_losses))
        out.update(self.regularizer_losses)
        out.update(self.log_values)
        return out

    def __getitem__(self, key: str) -> Tensor:
        return self._items()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self.task_losses) + len(self.regularizer_losses) + len(
            self.log_values)
