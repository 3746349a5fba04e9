# Copyright (c) mtlpartial contributors. All rights reserved.
"""UPGrad (Quinton & Rey, "Jacobian Descent for Multi-Objective
Optimization", 2024)."""
from typing import Optional, Sequence

import torch
from torch import Tensor

from mtlpartial.registry import BALANCERS
from .base_balancer import GramianBalancer
from .solvers import dual_cone_weights


@BALANCERS.register_module()
class UPGrad(GramianBalancer):
    """Unconflicting projection of gradients.

    Each row ``g_i`` (scaled by the preference ``p_i``, default ``1/K``) is
    projected onto the dual cone of the rows, ``argmin_{v ≥ p_i e_i} vᵀ G v``
    on the trace-normalised Gramian plus ``reg_eps·I`` (official torchjd
    conventions), and the projections are summed. The update is on the
    **mean** scale (Σ weights ≈ 1 without conflict). The QPs are solved
    exactly by NNLS instead of quadprog.

    Args:
        pref_vector (sequence of float, optional): preference per task
            (full task list); default uniform ``1/K`` over the active rows.
        norm_eps (float): Gramians of trace below this are treated as zero.
            Defaults to 1e-12 (torchjd: 1e-4, which turns small but valid
            gradients into plain averaging).
        reg_eps (float): ridge added to the normalised Gramian. Defaults to
            1e-4 (torchjd).
    """

    def __init__(self,
                 pref_vector: Optional[Sequence[float]] = None,
                 norm_eps: float = 1e-12,
                 reg_eps: float = 1e-4) -> None:
        super().__init__()
        self.pref_vector = None if pref_vector is None else torch.as_tensor(
            pref_vector, dtype=torch.float64)
        self.norm_eps = norm_eps
        self.reg_eps = reg_eps

    def weights_from_gramian(self, gram: Tensor, losses: Optional[Tensor],
                             tasks: Tensor) -> Tensor:
        k = gram.shape[0]
        if self.pref_vector is None:
            pref = torch.full((k, ), 1.0 / k, dtype=gram.dtype)
        else:
            if self.pref_vector.numel() < int(tasks.max()) + 1:
                raise ValueError(f'UPGrad.pref_vector has '
                                 f'{self.pref_vector.numel()} entries, '
                                 f'task index {int(tasks.max())} given')
            pref = self.pref_vector[tasks].to(gram.dtype)
        trace = gram.diagonal().sum()
        g = gram / trace if trace >= self.norm_eps else torch.zeros_like(gram)
        g = g + self.reg_eps * torch.eye(k, dtype=gram.dtype)
        w = dual_cone_weights(g, torch.diag(pref))
        return w.sum(0)
