# Copyright (c) mtlpartial contributors. All rights reserved.
"""What one ``MultiTaskOptimWrapper`` step works on (its collectives are in
:mod:`.grad_sync`)."""
from dataclasses import dataclass
from typing import List, Optional

import torch
from torch import Tensor

from mtlpartial.structures import MultiTaskLosses


@dataclass
class StepInputs:
    """What one ``update_multitask`` call works on.

    ``rows`` are the active task indices; ``values`` their global loss
    values; ``reg`` the summed regularizer terms; ``factor`` the
    accumulation factor times the AMP loss scale.
    """
    losses: MultiTaskLosses
    rows: List[int]
    values: Tensor
    reg: Optional[Tensor]
    epoch: Optional[int]
    factor: float
    grad_scale: float

    @property
    def tasks(self) -> Tensor:
        return torch.tensor(self.rows, dtype=torch.long)

    @property
    def graph_rows(self) -> List[int]:
        """Rows whose task loss has a graph on this rank."""
        return [
            r for r, k in enumerate(self.rows)
            if self.losses.task_losses[k].requires_grad
        ]

    def weighted_sum(self, weights: Tensor,
                     with_reg: bool = True) -> Optional[Tensor]:
        """``Σ_r w_r L_{rows[r]} (+ reg)`` over the terms with a graph."""
        task_losses = self.losses.task_losses
        terms = [
            weights[r].to(task_losses[k]) * task_losses[k]
            for r, k in enumerate(self.rows) if task_losses[k].requires_grad
        ]
        if with_reg and self.reg is not None and self.reg.requires_grad:
            terms.append(self.reg)
        return sum(terms) if terms else None
