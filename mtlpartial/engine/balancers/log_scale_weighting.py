# Copyright (c) mtlpartial contributors. All rights reserved.
"""Loss weightings with one learnable log-scale per task (Uncertainty,
IMTL-L)."""
from typing import ClassVar, List, Optional

import torch
import torch.nn as nn
from torch import Tensor

from .base_balancer import BaseLossWeighting


class LogScaleWeighting(BaseLossWeighting):
    """Weights ``w(s_i)`` of a learnable per-task parameter ``s`` that the
    model optimizer trains (the constructor adds it as a param group)
    through ``balancer_loss = Σ_i objective(s_i, L_i)`` with the loss
    values detached, so that both get the gradients of the joint objective.

    Subclasses name the parameter (``param_name``, as in their papers and
    checkpoints) and define :meth:`task_weights` and :meth:`objective`.

    Args:
        init (float): initial ``s``. Defaults to 0.
    """

    param_name: ClassVar[str]

    def __init__(self, init: float = 0.0) -> None:
        super().__init__()
        self.init = float(init)
        setattr(self, self.param_name, None)

    @property
    def log_param(self) -> Optional[nn.Parameter]:
        return getattr(self, self.param_name)

    def _init_state(self, num_tasks: int) -> None:
        setattr(self, self.param_name,
                nn.Parameter(torch.full((num_tasks, ), self.init)))

    def optimizer_parameters(self) -> List[nn.Parameter]:
        return [] if self.log_param is None else [self.log_param]

    def task_weights(self, s: Tensor) -> Tensor:
        """Weights of the task losses for parameters ``s``."""
        raise NotImplementedError

    def objective(self, s: Tensor, losses: Tensor) -> Tensor:
        """Per-task objective of ``s`` for detached ``losses``."""
        raise NotImplementedError

    def _weights(self, losses, tasks, gramian, epoch):
        s = self.log_param.detach()[tasks.to(self.log_param.device)]
        return self.task_weights(s)

    def balancer_loss(self, gramian, losses, tasks=None):
        tasks = self._resolve_tasks(losses.numel(), tasks)
        if losses.numel() == 0:
            return None
        s = self.log_param[tasks.to(self.log_param.device)]
        return self.objective(s, losses.detach().to(s)).sum()
