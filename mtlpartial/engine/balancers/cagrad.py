# Copyright (c) mtlpartial contributors. All rights reserved.
"""CAGrad (Liu et al., NeurIPS 2021)."""
from typing import Optional

import torch
from torch import Tensor

from mtlpartial.registry import BALANCERS
from .base_balancer import GramianBalancer
from .solvers import cagrad_weights


@BALANCERS.register_module()
class CAGrad(GramianBalancer):
    """Conflict-averse gradient descent.

    With ``g₀`` the mean gradient, ``w = argmin_{w ∈ Δ} g_wᵀ g₀ + c‖g₀‖
    ‖g_w‖`` (the dual of ``max_d min_i g_iᵀ d`` s.t. ``‖d − g₀‖ ≤ c‖g₀‖``)
    and ``d = g₀ + (c‖g₀‖/‖g_w‖) g_w``. The official NYUv2 code returns
    ``K·d/(1+c²)`` (``rescale=1``, ×K "to match the sum loss"); ``rescale=0``
    gives ``K·d``, ``rescale=2`` gives ``K·d/(1+c)``. Set ``sum_scale=False``
    to drop the ×K (LibMTL's scale). The dual is solved in float64 (SLSQP as
    the official code, then exact Newton polishing on the support).

    Args:
        c (float): radius scale. Defaults to 0.4 (paper, NYUv2/CityScapes).
        rescale (int): 0, 1 or 2, see above. Defaults to 1.
        sum_scale (bool): multiply by K. Defaults to True.
    """

    def __init__(self, c: float = 0.4, rescale: int = 1,
                 sum_scale: bool = True) -> None:
        super().__init__()
        if c < 0:
            raise ValueError(f'CAGrad.c must be >= 0, got {c}')
        if rescale not in (0, 1, 2):
            raise ValueError(f'CAGrad.rescale must be 0, 1 or 2, got '
                             f'{rescale}')
        self.c = float(c)
        self.rescale = rescale
        self.sum_scale = sum_scale

    def weights_from_gramian(self, gram: Tensor, losses: Optional[Tensor],
                             tasks: Tensor) -> Tensor:
        k = gram.shape[0]
        w, r = cagrad_weights(gram, self.c)
        gw_norm = float(w @ gram @ w) ** 0.5 if float(w @ gram @ w) > 0 \
            else 0.0
        weights = torch.full((k, ), 1.0 / k, dtype=gram.dtype)
        scale_ref = float(gram.diagonal().sum()) ** 0.5
        if gw_norm > 1e-12 * scale_ref:
            weights = weights + (r / gw_norm) * w
        if self.sum_scale:
            weights = weights * k
        if self.rescale == 1:
            weights = weights / (1 + self.c**2)
        elif self.rescale == 2:
            weights = weights / (1 + self.c)
        return weights
