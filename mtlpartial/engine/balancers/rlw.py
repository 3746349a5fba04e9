# Copyright (c) mtlpartial contributors. All rights reserved.
"""Random loss weighting (Lin et al., TMLR 2022)."""
from typing import Optional

import torch

from mtlpartial.registry import BALANCERS
from .base_balancer import BaseLossWeighting
from .seeded_random import SeededRandomMixin


@BALANCERS.register_module()
class RLW(SeededRandomMixin, BaseLossWeighting):
    """Weights ``softmax(λ̃)``, ``λ̃ ~ N(0, I)`` drawn at every call over the
    active tasks (they sum to 1, as in the paper and LibMTL).

    Args:
        seed (int, optional): seed of the private generator (identical on
            every rank).
    """

    def __init__(self, seed: Optional[int] = None) -> None:
        super().__init__()
        self._init_random(seed)

    def _weights(self, losses, tasks, gramian, epoch):
        draw = torch.randn(
            losses.numel(), generator=self.generator('cpu'),
            dtype=torch.float64)
        return torch.softmax(draw, 0)

    def _extra_state(self):
        return dict(random_state=self.random_state())

    def _load_extra_state(self, state):
        self.set_random_state(state.get('random_state'))
