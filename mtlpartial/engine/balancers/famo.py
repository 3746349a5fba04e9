# Copyright (c) mtlpartial contributors. All rights reserved.
"""FAMO (Liu et al., NeurIPS 2023)."""
import copy
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from mtlpartial.registry import BALANCERS
from .base_balancer import BaseLossWeighting


@BALANCERS.register_module()
class FAMO(BaseLossWeighting):
    """Fast adaptive multitask optimisation.

    ``z = softmax(w)``, ``D_i = L_i − b_i + 1e-8`` (``b = 0``),
    ``c = Σ z_i / D_i``; the task weights are ``z_i / (c D_i)`` (the
    gradient of ``Σ z_i log D_i / c``; they sum to 1). After an optimizer
    step,
    ``update(new_losses)`` sets ``δ_i = log D_i(before) − log D_i(after)``,
    ``w.grad = J_softmax(w)ᵀ δ`` and takes an Adam step on ``w``
    (lr 0.025, weight decay γ), with its own optimizer (not the model's).

    The official code recomputes the losses on the *same* batch after the
    step (one extra forward). The optim wrapper has no access to the batch,
    so by default the loss values of the *next* call are used
    (``after_step`` marks the stored values as "before"); call
    :meth:`update` yourself for the official variant. Only tasks active in
    both calls update ``w``.

    Args:
        gamma (float): weight decay of ``w``. Defaults to 1e-3 (official
            NYUv2 script, LibMTL, torchjd).
        w_lr (float): Adam learning rate of ``w``. Defaults to 0.025.
        eps (float): added to the losses. Defaults to 1e-8.
    """

    def __init__(self, gamma: float = 1e-3, w_lr: float = 0.025,
                 eps: float = 1e-8) -> None:
        super().__init__()
        self.gamma = float(gamma)
        self.w_lr = float(w_lr)
        self.eps = float(eps)
        self.logits: Optional[nn.Parameter] = None
        self._opt: Optional[torch.optim.Optimizer] = None
        self.prev_losses: Optional[Tensor] = None
        self.prev_tasks: Optional[Tensor] = None
        self.pending = False

    def _init_state(self, num_tasks: int) -> None:
        self.logits = nn.Parameter(torch.zeros(num_tasks))
        self._opt = torch.optim.Adam([self.logits], lr=self.w_lr,
                                     weight_decay=self.gamma)

    def _weights(self, losses, tasks, gramian, epoch):
        values = losses.detach().to('cpu', torch.float64)
        if self.pending:
            self.update(values, tasks)
        z = torch.softmax(self.logits.detach().cpu().double()[tasks], 0)
        d = values + self.eps
        c = (z / d).sum()
        self.prev_losses, self.prev_tasks = values.clone(), tasks.clone()
        return z / (c * d)

    def after_step(self) -> None:
        self.pending = self.prev_losses is not None

    def update(self, new_losses: Tensor,
               tasks: Optional[Tensor] = None) -> None:
        """Adam step on ``w`` from the loss decrease since the last
        ``weights`` call."""
        new_losses = torch.as_tensor(new_losses).detach().to(
            'cpu', torch.float64).reshape(-1)
        tasks = self._resolve_tasks(new_losses.numel(), tasks)
        self.pending = False
        if self.prev_losses is None:
            return
        prev = dict(zip(self.prev_tasks.tolist(), self.prev_losses.tolist()))
        common = [(i, t) for i, t in enumerate(tasks.tolist()) if t in prev]
        if not common:
            return
        rows = torch.tensor([i for i, _ in common])
        idx = torch.tensor([t for _, t in common])
        before = torch.tensor([prev[t] for _, t in common],
                              dtype=torch.float64)
        delta = (before + self.eps).log() - (new_losses[rows] +
                                              self.eps).log()
        sub = self.logits.detach()[idx.to(self.logits.device)].clone()
        sub.requires_grad_(True)
        with torch.enable_grad():
            (grad, ) = torch.autograd.grad(
                torch.softmax(sub, 0), sub,
                grad_outputs=delta.to(sub))
        full = torch.zeros_like(self.logits)
        full[idx.to(full.device)] = grad
        self._opt.zero_grad()
        self.logits.grad = full
        self._opt.step()
        self.logits.grad = None

    def _extra_state(self):
        return dict(
            optimizer=None if self._opt is None else copy.deepcopy(
                self._opt.state_dict()),
            prev_losses=self.prev_losses,
            prev_tasks=self.prev_tasks,
            pending=self.pending)

    def _load_extra_state(self, state):
        if state.get('optimizer') is not None and self._opt is not None:
            self._opt.load_state_dict(state['optimizer'])
        self.prev_losses = state.get('prev_losses')
        self.prev_tasks = state.get('prev_tasks')
        self.pending = bool(state.get('pending', False))
