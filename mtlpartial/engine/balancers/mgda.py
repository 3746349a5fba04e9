# Copyright (c) mtlpartial contributors. All rights reserved.
"""MGDA / MGDA-UB (Sener & Koltun, NeurIPS 2018)."""
from typing import Optional

import torch
from torch import Tensor

from mtlpartial.registry import BALANCERS
from .base_balancer import GramianBalancer
from .solvers import min_norm_weights

NORMALIZATIONS = ('none', 'l2', 'loss', 'loss+')


@BALANCERS.register_module()
class MGDA(GramianBalancer):
    """Multiple-gradient descent: the min-norm point of the convex hull.

    ``w = argmin_{w ∈ Δ} ‖Σ w_i ĝ_i‖²`` with ``ĝ_i = g_i / n_i`` (gradient
    normalisation ``n_i`` of the official code, ``'none'`` by default as in
    LibMTL and the paper); the update is ``Σ w_i g_i`` on the **raw**
    gradients like the official code (LibMTL applies ``w`` to the
    normalised gradients instead). Weights sum to 1 (the nash-mtl repo
    multiplies by K).

    The official Frank-Wolfe ``MinNormSolver`` (no iteration cap, 0.999
    clamp for two tasks) is replaced by an exact NNLS solve
    (:func:`~.solvers.min_norm_weights`). MGDA-UB is this method with the
    optim wrapper's ``rep_grad=True``.

    Args:
        normalization (str): 'none' | 'l2' (``‖g_i‖``) | 'loss' (``L_i``) |
            'loss+' (``L_i ‖g_i‖``). Defaults to 'none'.
    """

    def __init__(self, normalization: str = 'none') -> None:
        super().__init__()
        if normalization not in NORMALIZATIONS:
            raise ValueError(f'MGDA.normalization must be one of '
                             f'{NORMALIZATIONS}, got {normalization!r}')
        self.normalization = normalization

    def weights_from_gramian(self, gram: Tensor, losses: Optional[Tensor],
                             tasks: Tensor) -> Tensor:
        norms = torch.ones(gram.shape[0], dtype=gram.dtype)
        if self.normalization in ('l2', 'loss+'):
            norms = norms * gram.diagonal().clamp(min=0).sqrt()
        if self.normalization in ('loss', 'loss+'):
            if losses is None:
                raise ValueError(f'MGDA(normalization={self.normalization!r})'
                                 ' needs the task loss values (`losses`)')
            norms = norms * losses
        norms = torch.where(norms > 0, norms, torch.ones_like(norms))
        scaled = gram / norms[:, None] / norms[None, :]
        return min_norm_weights(scaled)
