# Copyright (c) mtlpartial contributors. All rights reserved.
"""IMTL (Liu et al., ICLR 2021): IMTL-G (gradients) and IMTL-L (losses)."""
from typing import Optional

import torch
from torch import Tensor

from mtlpartial.registry import BALANCERS
from .base_balancer import GramianBalancer
from .log_scale_weighting import LogScaleWeighting


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
class IMTLL(LogScaleWeighting):
    """IMTL-L: learnable loss scales ``e^{s_i} L_i − s_i`` (``s`` init 0).

    Task losses are weighted by ``e^{s_i}`` (detached); ``s`` is trained by
    the model optimizer through ``balancer_loss = Σ e^{s_i} L_i − s_i``
    with the loss values detached (same gradients as the paper's joint
    objective).
    """

    param_name = 'log_scale'

    def task_weights(self, s: Tensor) -> Tensor:
        return s.exp()

    def objective(self, s: Tensor, losses: Tensor) -> Tensor:
        return s.exp() * losses - s
