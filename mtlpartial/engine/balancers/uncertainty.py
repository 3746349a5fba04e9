# Copyright (c) mtlpartial contributors. All rights reserved.
"""Uncertainty weighting (Kendall et al., CVPR 2018)."""
from typing import List, Optional

import torch
import torch.nn as nn

from mtlpartial.registry import BALANCERS
from .base_balancer import BaseLossWeighting


@BALANCERS.register_module()
class Uncertainty(BaseLossWeighting):
    """Homoscedastic uncertainty: ``Σ_i ½ e^{−s_i} L_i + ½ s_i``.

    ``s_i = log σ_i²`` is a learnable parameter trained by the model
    optimizer (added as a param group by the optim wrapper). Task losses
    are weighted by ``½ e^{−s_i}`` (detached), ``s`` by ``balancer_loss``
    with the loss values detached; the gradients equal those of the joint
    objective. Peers initialise ``s`` to 0 (Nash-MTL, torchjd), −0.5
    (LibMTL, MTAN) or −0.7 (Auto-λ).

    Args:
        init (float): initial ``s``. Defaults to 0.
    """

    def __init__(self, init: float = 0.0) -> None:
        super().__init__()
        self.init = float(init)
        self.log_vars: Optional[nn.Parameter] = None

    def _init_state(self, num_tasks: int) -> None:
        self.log_vars = nn.Parameter(torch.full((num_tasks, ), self.init))

    def optimizer_parameters(self) -> List[nn.Parameter]:
        return [] if self.log_vars is None else [self.log_vars]

    def _weights(self, losses, tasks, gramian, epoch):
        s = self.log_vars.detach()[tasks.to(self.log_vars.device)]
        return 0.5 * torch.exp(-s)

    def balancer_loss(self, gramian, losses, tasks=None):
        tasks = self._resolve_tasks(losses.numel(), tasks)
        if losses.numel() == 0:
            return None
        s = self.log_vars[tasks.to(self.log_vars.device)]
        values = losses.detach().to(s)
        return (0.5 * torch.exp(-s) * values + 0.5 * s).sum()
