# Copyright (c) mtlpartial contributors. All rights reserved.
"""GradVac (Wang et al., ICLR 2021)."""
from typing import Optional

import torch
from torch import Tensor

from mtlpartial.registry import BALANCERS
from .base_balancer import GramianBalancer
from .seeded_random import SeededRandomMixin


@BALANCERS.register_module()
class GradVac(SeededRandomMixin, GramianBalancer):
    """Gradient vaccine: set pairwise cosine similarities to EMA targets.

    For each task i and the other tasks j in a random order, with
    ``φ_ij = cos(g_i^PC, g_j)`` and target ``φ̂_ij``: if ``φ_ij < φ̂_ij``,
    ``g_i^PC += ‖g_i^PC‖(φ̂_ij√(1−φ_ij²) − φ_ij√(1−φ̂_ij²)) /
    (‖g_j‖√(1−φ̂_ij²) + eps) · g_j``; then ``φ̂_ij ← (1−β)φ̂_ij + βφ_ij``
    (targets start at 0). Update = **sum** of the rows. Computed on the
    Gramian (as torchjd). The EMA is per (task, task) pair of the full task
    list, so tasks that sit out keep their targets.

    Args:
        beta (float): EMA rate. Defaults to 0.01 (paper; LibMTL/torchjd use
            0.5).
        eps (float): denominator guard. Defaults to 1e-8.
        seed (int, optional): seed of the order generator.
    """

    def __init__(self, beta: float = 0.01, eps: float = 1e-8,
                 seed: Optional[int] = None) -> None:
        super().__init__()
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f'GradVac.beta must be in [0, 1], got {beta}')
        self.beta = float(beta)
        self.eps = float(eps)
        self._init_random(seed)
        self.rho: Optional[Tensor] = None

    def _init_state(self, num_tasks: int) -> None:
        self.rho = torch.zeros(num_tasks, num_tasks, dtype=torch.float64)

    def weights_from_gramian(self, gram: Tensor, losses: Optional[Tensor],
                             tasks: Tensor) -> Tensor:
        k = gram.shape[0]
        coef = torch.eye(k, dtype=gram.dtype)
        t = tasks.tolist()
        for i in range(k):
            cg = coef[i] @ gram
            others = [j for j in range(k) if j != i]
            for j in [others[p] for p in self.randperm(len(others))]:
                norm_i = (cg @ coef[i]).clamp(min=0).sqrt()
                norm_j = gram[j, j].clamp(min=0).sqrt()
                phi = cg[j] / (norm_i * norm_j + self.eps)
                target = self.rho[t[i], t[j]].to(gram.dtype)
                if phi < target:
                    s_phi = (1 - phi * phi).clamp(min=0).sqrt()
                    s_hat = (1 - target * target).clamp(min=0).sqrt()
                    w = norm_i * (target * s_phi - phi * s_hat) / (
                        norm_j * s_hat + self.eps)
                    coef[i, j] += w
                    cg = cg + w * gram[j]
                self.rho[t[i], t[j]] = (1 - self.beta) * target + \
                    self.beta * phi
        return coef.sum(0)

    def _extra_state(self):
        return dict(rho=self.rho, random_state=self.random_state())

    def _load_extra_state(self, state):
        if state.get('rho') is not None:
            self.rho = state['rho'].clone()
        self.set_random_state(state.get('random_state'))
