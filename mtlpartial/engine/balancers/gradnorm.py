# Copyright (c) mtlpartial contributors. All rights reserved.
"""GradNorm (Chen et al., ICML 2018)."""
from typing import List, Optional

import torch
import torch.nn as nn

from mtlpartial.registry import BALANCERS
from .base_balancer import BalancerInput, BaseLossWeighting


@BALANCERS.register_module()
class GradNorm(BaseLossWeighting):
    """Gradient normalisation.

    Weights ``w = K·softmax(ℓ)`` over the active tasks (LibMTL's
    parametrisation, ``ℓ`` init 0 — uniform), ``ℓ`` trained by the model
    optimizer through ``balancer_loss = Σ_i |w_i ‖g_i‖ − target_i|`` with
    ``target_i = mean_j(w_j ‖g_j‖) · r_i^α`` (detached),
    ``r_i = L̃_i / mean(L̃)`` and ``L̃_i = L_i / L_i(0)``. ``‖g_i‖`` comes from
    the diagonal of the Gramian of the task gradients (w.r.t. the shared
    parameters, or the representation with ``rep_grad=True``). ``L_i(0)``
    is the first loss value observed for task i (the paper's t=0; LibMTL
    uses the epoch-0 mean and EW during epoch 0). No official code exists.

    Args:
        alpha (float): restoring force α. Defaults to 1.5 (NYUv2).
    """

    input = BalancerInput.GRAMIAN

    def __init__(self, alpha: float = 1.5) -> None:
        super().__init__()
        self.alpha = float(alpha)
        self.logits: Optional[nn.Parameter] = None

    def _init_state(self, num_tasks: int) -> None:
        self.logits = nn.Parameter(torch.zeros(num_tasks))
        self.initial_losses = torch.full((num_tasks, ), float('nan'),
                                         dtype=torch.float64)

    def optimizer_parameters(self) -> List[nn.Parameter]:
        return [] if self.logits is None else [self.logits]

    def _task_weights(self, tasks):
        logits = self.logits[tasks.to(self.logits.device)]
        return tasks.numel() * torch.softmax(logits, 0)

    def _weights(self, losses, tasks, gramian, epoch):
        values = losses.detach().to('cpu', torch.float64)
        init = self.initial_losses[tasks]
        self.initial_losses[tasks] = torch.where(torch.isnan(init), values,
                                                 init)
        return self._task_weights(tasks).detach()

    def balancer_loss(self, gramian, losses, tasks=None):
        tasks = self._resolve_tasks(losses.numel(), tasks)
        if gramian is None:
            raise ValueError('GradNorm.balancer_loss needs the Gramian')
        if losses.numel() == 0:
            return None
        w = self._task_weights(tasks)
        norms = gramian.detach().diagonal().clamp(min=0).sqrt().to(w)
        values = losses.detach().to('cpu', torch.float64)
        init = self.initial_losses[tasks]
        init = torch.where(torch.isnan(init) | (init <= 0), values, init)
        ratio = values / init
        ratio = torch.where(torch.isfinite(ratio), ratio,
                            torch.ones_like(ratio))
        rel = (ratio / ratio.mean()).to(w)
        gw = w * norms
        target = (gw.mean() * rel**self.alpha).detach()
        return (gw - target).abs().sum()

    def _extra_state(self):
        return dict(initial_losses=getattr(self, 'initial_losses', None))

    def _load_extra_state(self, state):
        if state.get('initial_losses') is not None:
            self.initial_losses = state['initial_losses'].clone()
