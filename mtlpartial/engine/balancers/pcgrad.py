# Copyright (c) mtlpartial contributors. All rights reserved.
"""PCGrad (Yu et al., NeurIPS 2020)."""
from typing import Optional

import torch
from torch import Tensor

from mtlpartial.registry import BALANCERS
from .base_balancer import GramianBalancer
from .seeded_random import SeededRandomMixin


@BALANCERS.register_module()
class PCGrad(SeededRandomMixin, GramianBalancer):
    """Projecting conflicting gradients, Algorithm 1 of the paper.

    For each task i, for the other tasks j in a random order: if
    ``g_i^PC · g_j < 0``, ``g_i^PC -= (g_i^PC · g_j / ‖g_j‖²) g_j``
    (projection on the *original* ``g_j``, self skipped). The update is the
    **sum** ``Σ_i g_i^PC``. Computed in weight space on the Gramian (as
    torchjd): ``g_i^PC = Σ_j c_ij g_j``.

    Deviations from peers: no ``1e-8`` in the denominator (LibMTL); a
    projection only happens when ``g_i^PC · g_j < 0``, which implies
    ``‖g_j‖ > 0``, so no NaN for zero gradients (WeiChengTseng #7).

    Args:
        seed (int, optional): seed of the private generator that draws the
            orders (identical on every rank). Defaults to
            ``torch.initial_seed()``.
    """

    def __init__(self, seed: Optional[int] = None) -> None:
        super().__init__()
        self._init_random(seed)

    def weights_from_gramian(self, gram: Tensor, losses: Optional[Tensor],
                             tasks: Tensor) -> Tensor:
        k = gram.shape[0]
        weights = torch.zeros(k, dtype=gram.dtype)
        for i in range(k):
            others = [j for j in range(k) if j != i]
            order = [others[p] for p in self.randperm(len(others))]
            c = torch.zeros(k, dtype=gram.dtype)
            c[i] = 1.0
            for j in order:
                dot = gram[j] @ c
                if dot < 0.0:
                    c[j] -= dot / gram[j, j]
            weights += c
        return weights

    def _extra_state(self):
        return dict(random_state=self.random_state())

    def _load_extra_state(self, state):
        self.set_random_state(state.get('random_state'))
