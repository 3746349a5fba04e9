# Copyright (c) mtlpartial contributors. All rights reserved.
"""GradDrop (Chen et al., NeurIPS 2020)."""
from typing import Optional

import torch
from torch import Tensor

from mtlpartial.registry import BALANCERS
from .base_balancer import Aggregation, JacobianBalancer
from .seeded_random import SeededRandomMixin


@BALANCERS.register_module()
class GradDrop(SeededRandomMixin, JacobianBalancer):
    """Gradient sign dropout (Algorithm 1, lines 10–15).

    Positive sign purity ``P = ½(1 + Σ_i g_i / Σ_i |g_i|)`` per coordinate,
    ``U ~ Uniform(0, 1)`` per coordinate (shared by the tasks), mask
    ``M_i = [P > U][g_i > 0] + [P < U][g_i < 0]``; update
    ``Σ_i (ℓ + (1−ℓ) M_i) g_i`` (sum scale). With the optim wrapper's
    ``rep_grad=True`` it acts on representation gradients (the paper's and
    LibMTL's setting; the sign(input) factor of the paper is 1 here, as in
    torchjd and the CAGrad repo variant); otherwise on parameter gradients.
    Coordinates where every task gradient is 0 give 0 (no NaN).

    Args:
        leak (float): leak ℓ in [0, 1]. Defaults to 0.
        seed (int, optional): seed of the private generator.
    """

    def __init__(self, leak: float = 0.0, seed: Optional[int] = None) -> None:
        super().__init__()
        if not 0.0 <= leak <= 1.0:
            raise ValueError(f'GradDrop.leak must be in [0, 1], got {leak}')
        self.leak = float(leak)
        self._init_random(seed)

    def _combine(self, grads: Tensor, losses, tasks) -> Aggregation:
        total = grads.sum(0)
        denom = grads.abs().sum(0)
        purity = 0.5 * (1 + total / denom.clamp(min=torch.finfo(
            grads.dtype).tiny))
        u = torch.rand(
            grads.shape[1], generator=self.generator(grads.device),
            device=grads.device, dtype=grads.dtype)
        keep_pos = purity > u
        keep_neg = purity < u
        mask = (keep_pos & (grads > 0)) | (keep_neg & (grads < 0))
        factor = self.leak + (1 - self.leak) * mask.to(grads.dtype)
        return Aggregation((factor * grads).sum(0), None)

    def _extra_state(self):
        return dict(random_state=self.random_state(),
                    device=None if self._gen is None else
                    self._gen.device.type)

    def _load_extra_state(self, state):
        self.set_random_state(state.get('random_state'))
