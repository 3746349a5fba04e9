# Copyright (c) mtlpartial contributors. All rights reserved.
"""A private, checkpointed random generator for randomised balancers
(PCGrad, GradVac, GradDrop, RLW)."""
from typing import List, Optional

import torch
from mmengine.dist import broadcast_object_list, get_world_size
from torch import Tensor


class SeededRandomMixin:
    """A private ``torch.Generator`` per balancer (checkpointed).

    ``seed=None`` uses ``torch.initial_seed()`` at the first draw;
    ``share_random_state`` gives every rank rank 0's seed.
    """

    def _init_random(self, seed: Optional[int]) -> None:
        self.seed = seed
        self._gen: Optional[torch.Generator] = None
        self._gen_state: Optional[Tensor] = None

    def share_random_state(self) -> None:
        if self.seed is None and get_world_size() > 1:
            obj = [torch.initial_seed()]
            broadcast_object_list(obj, src=0)
            self.seed = int(obj[0])

    def generator(self, device=None) -> torch.Generator:
        device = torch.device(device if device is not None else 'cpu')
        if self._gen is None or self._gen.device.type != device.type:
            gen = torch.Generator(device=device)
            if self._gen_state is not None:
                gen.set_state(self._gen_state)
            elif self._gen is not None:
                gen.set_state(self._gen.get_state())
            else:
                seed = self.seed if self.seed is not None else \
                    torch.initial_seed()
                gen.manual_seed(int(seed) % (2**63))
            self._gen = gen
            self._gen_state = None
        return self._gen

    def random_state(self) -> Optional[Tensor]:
        if self._gen is not None:
            return self._gen.get_state()
        return self._gen_state

    def set_random_state(self, state: Optional[Tensor]) -> None:
        self._gen_state = None if state is None else state.clone()
        if self._gen is not None and state is not None:
            self._gen.set_state(self._gen_state)
            self._gen_state = None

    def randperm(self, n: int) -> List[int]:
        """A random permutation of ``range(n)`` (CPU generator)."""
        return torch.randperm(n, generator=self.generator('cpu')).tolist()
