# Copyright (c) mtlpartial contributors. All rights reserved.
"""IMTL (Liu et al., ICLR 2021): IMTL-G (gradients) and IMTL-L (losses)."""
from typing import List, Optional

import torch
import torch.nn as nn
from torch import Tensor

from mtlpartial.registry import BALANCERS
from .base_balancer import BaseLossWeighting, GramianBalancer


@BALANCERS.register_module()
class IMTLG(GramianBalancer):
    """IMTL-G: the update has equal projections on all unit task gradients.

    ``w = pinv(G Gᵀ) d / Σ(pinv(G Gᵀ) d)`` with ``d_i = ‖g_i‖`` (torchjd's
    generalisation; identical to the closed form
    ``α_{2..K} = g_1 Uᵀ (D Uᵀ)⁻¹`` of the paper when the gradients are
    linearly independent, and defined when they are not). Weights sum to
    1. Zero weights if ``|Σ| < 1e-12``. No official code exists.
    """

    def weights_from_gramian(self, gram: Tensor, losses: Optional[Tensor],
                             tasks: Tensor) -> Tensor:
        d = gram.diagonal().clamp(min=0).sqrt()
        v = torch.linalg.pinv(gram, hermitian=True) @ d
        total = v.sum()
        if total.abs() < 1e-12:
            return torch.zeros_like(v)
        return v / total


@BALANCERS.register_module()
class IMTLL(BaseLossWeighting):
    """IMTL-L: learnable loss scales ``e^{s_i} L_i − s_i`` (``s`` init 0).

    Task losses are weighted by ``e^{s_i}`` (detached); ``s`` is trained by
    the model optimizer through ``balancer_loss = Σ e^{s_i} L_i − s_i``
    with the loss values detached (same gradients as the paper's joint
    objective).
    """

    def __init__(self, init: float = 0.0) -> None:
        super().__init__()
        self.init = float(init)
        self.log_scale: Optional[nn.Parameter] = None

    def _init_state(self, num_tasks: int) -> None:
        self.log_scale = nn.Parameter(torch.full((num_tasks, ), self.init))

    def optimizer_parameters(self) -> List[nn.Parameter]:
        return [] if self.log_scale is None else [self.log_scale]

    def _weights(self, losses, tasks, gramian, epoch):
        return self.log_scale.detach()[tasks.to(self.log_scale.device)].exp()

    def balancer_loss(self, gramian, losses, tasks=None):
        tasks = self._resolve_tasks(losses.numel(), tasks)
        if losses.numel() == 0:
            return None
        s = self.log_scale[tasks.to(self.log_scale.device)]
        values = losses.detach().to(s)
        return (s.exp() * values - s).sum()
