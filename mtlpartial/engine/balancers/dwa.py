# Copyright (c) mtlpartial contributors. All rights reserved.
"""Dynamic weight average (Liu et al., CVPR 2019)."""
from typing import Optional

import torch

from mtlpartial.registry import BALANCERS
from .base_balancer import BaseLossWeighting


@BALANCERS.register_module()
class DWA(BaseLossWeighting):
    """``λ_k = K·softmax(w/T)_k`` with ``w_k = L̄_k(t−1) / L̄_k(t−2)``.

    ``L̄_k(t)`` is the mean training loss of task k over epoch t (over the
    calls where k was active). Weights are 1 for the first two epochs, and
    ``w_k = 1`` for a task with no loss in either epoch. K counts the
    active tasks.

    Epochs come from the ``epoch`` argument (the optim wrapper passes the
    runner's epoch); with ``window=N`` an "epoch" is N calls instead (the
    Nash-MTL/FAMO repos' 25-iteration variant, needed for iteration-based
    training).

    Args:
        temperature (float): T. Defaults to 2.
        window (int, optional): calls per averaging window.
    """

    def __init__(self, temperature: float = 2.0,
                 window: Optional[int] = None) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'DWA.temperature must be > 0, got {temperature}')
        if window is not None and window < 1:
            raise ValueError(f'DWA.window must be >= 1, got {window}')
        self.temperature = float(temperature)
        self.window = window
        self.calls = 0
        self.epoch: Optional[int] = None

    def _init_state(self, num_tasks: int) -> None:
        self.sums = torch.zeros(num_tasks, dtype=torch.float64)
        self.counts = torch.zeros(num_tasks, dtype=torch.float64)
        nan = torch.full((num_tasks, ), float('nan'), dtype=torch.float64)
        self.prev1 = nan.clone()
        self.prev2 = nan.clone()

    def _weights(self, losses, tasks, gramian, epoch):
        if self.window is not None:
            epoch = self.calls // self.window
        elif epoch is None:
            raise ValueError('DWA needs the current epoch (`epoch=`); for '
                             'iteration-based training set `window`')
        self.calls += 1
        if self.epoch is None:
            self.epoch = int(epoch)
        elif int(epoch) != self.epoch:
            mean = self.sums / self.counts  # NaN where no loss this epoch
            self.prev2 = self.prev1 if int(epoch) == self.epoch + 1 else \
                torch.full_like(mean, float('nan'))
            self.prev1 = mean
            self.sums.zero_()
            self.counts.zero_()
            self.epoch = int(epoch)
        ratio = self.prev1[tasks] / self.prev2[tasks]
        ratio = torch.where(torch.isfinite(ratio), ratio,
                            torch.ones_like(ratio))
        w = losses.numel() * torch.softmax(ratio / self.temperature, 0)
        values = losses.detach().to('cpu', torch.float64)
        self.sums[tasks] += values
        self.counts[tasks] += 1
        return w

    def _extra_state(self):
        return dict(
            calls=self.calls,
            epoch=self.epoch,
            sums=getattr(self, 'sums', None),
            counts=getattr(self, 'counts', None),
            prev1=getattr(self, 'prev1', None),
            prev2=getattr(self, 'prev2', None))

    def _load_extra_state(self, state):
        self.calls = int(state.get('calls', 0))
        self.epoch = state.get('epoch')
        for key in ('sums', 'counts', 'prev1', 'prev2'):
            if state.get(key) is not None:
                setattr(self, key, state[key].clone())
