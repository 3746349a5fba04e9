# Copyright (c) mtlpartial contributors. All rights reserved.
"""DB-MTL (Lin et al., "Dual-Balancing for Multi-Task Learning", 2023)."""
from typing import Optional

from torch import Tensor

from mtlpartial.registry import BALANCERS
from .base_balancer import Aggregation, JacobianBalancer


@BALANCERS.register_module()
class DBMTL(JacobianBalancer):
    """Dual balancing: log-loss scale balancing + gradient-magnitude
    balancing.

    Per-task gradients of ``log(L_i + eps)`` (``g_i / (L_i + eps)``) go
    through an EMA ``ĝ_i ← g̃_i + (β/t^σ)(ĝ_i − g̃_i)`` (buffer starts at 0,
    ``t`` counts calls), ``α_i = max_j ‖ĝ_j‖ / (‖ĝ_i‖ + 1e-8)`` over the
    active tasks and the update is ``Σ α_i ĝ_i`` (LibMTL ``DB_MTL``). Task
    heads get the gradient of ``log(L_i + eps)`` (``head_weights``
    ``1/(L_i + eps)``), as in LibMTL. Tasks that sit out keep their buffer
    rows. The buffer is ``[num_tasks, P]`` (in the checkpoint too); it is
    reset if P changes (e.g. representation gradients with another batch
    size).

    Args:
        beta (float): EMA coefficient. Defaults to 0.9.
        beta_sigma (float): decay exponent σ. Defaults to 0.
        eps (float): added to the losses. Defaults to 1e-8.
    """

    def __init__(self, beta: float = 0.9, beta_sigma: float = 0.0,
                 eps: float = 1e-8) -> None:
        super().__init__()
        self.beta = float(beta)
        self.beta_sigma = float(beta_sigma)
        self.eps = float(eps)
        self.step = 0
        self.buffer: Optional[Tensor] = None

    def _combine(self, grads: Tensor, losses: Optional[Tensor],
                 tasks: Tensor) -> Aggregation:
        if losses is None:
            raise ValueError('DBMTL.combine needs the task loss values '
                             '(`losses`)')
        p = grads.shape[1]
        if (self.buffer is None or self.buffer.shape[1] != p
                or self.buffer.device != grads.device):
            self.buffer = grads.new_zeros(self.num_tasks, p)
        self.step += 1
        idx = tasks.to(grads.device)
        scaled = grads / (losses.to(grads).reshape(-1, 1) + self.eps)
        coef = self.beta / self.step**self.beta_sigma
        rows = scaled + coef * (self.buffer[idx].to(grads) - scaled)
        self.buffer[idx] = rows.to(self.buffer.dtype)
        norms = rows.norm(dim=1)
        alpha = norms.max() / (norms + 1e-8)
        return Aggregation(alpha @ rows, alpha.detach())

    def head_weights(self, weights: Optional[Tensor], losses: Tensor,
                     tasks: Tensor) -> Tensor:
        return 1.0 / (losses + self.eps)

    def _extra_state(self):
        return dict(step=self.step, buffer=self.buffer)

    def _load_extra_state(self, state):
        self.step = int(state.get('step', 0))
        buffer = state.get('buffer')
        self.buffer = None if buffer is None else buffer.clone()
