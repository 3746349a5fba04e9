# Copyright (c) mtlpartial contributors. All rights reserved.
"""Aligned-MTL (Senushkin et al., CVPR 2023)."""
from typing import Optional

import torch
from torch import Tensor

from mtlpartial.registry import BALANCERS
from .base_balancer import GramianBalancer

SCALE_MODES = ('min', 'median', 'rmse')


@BALANCERS.register_module()
class AlignedMTL(GramianBalancer):
    """Aligns the principal components of the gradient matrix.

    ``G Gᵀ = V Λ Vᵀ``; eigenvalues ``≤ max(Λ)·K·eps`` are dropped (eps of
    the gradients' dtype, like the official code's ``torch.finfo().eps``);
    ``B = √λ_s V Λ^{-1/2} Vᵀ`` with ``λ_s`` the smallest ('min', default),
    median or mean ('rmse') kept eigenvalue; weights ``B·1`` (the official
    code's **sum**; torchjd uses the mean ``B·1/K``). ``torch.linalg.eigh``
    replaces the removed ``torch.symeig``.

    Args:
        scale_mode (str): 'min' | 'median' | 'rmse'. Defaults to 'min'.
        eps_dtype (torch.dtype): dtype whose eps sets the rank tolerance.
            Defaults to float32 (the precision of the Gramian in training).
    """

    def __init__(self, scale_mode: str = 'min',
                 eps_dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        if scale_mode not in SCALE_MODES:
            raise ValueError(f'AlignedMTL.scale_mode must be one of '
                             f'{SCALE_MODES}, got {scale_mode!r}')
        self.scale_mode = scale_mode
        self.eps_dtype = eps_dtype

    def weights_from_gramian(self, gram: Tensor, losses: Optional[Tensor],
                             tasks: Tensor) -> Tensor:
        k = gram.shape[0]
        lam, vec = torch.linalg.eigh(gram)
        tol = lam.max() * k * torch.finfo(self.eps_dtype).eps
        keep = lam > tol
        if not keep.any():
            return torch.ones(k, dtype=gram.dtype)
        lam, vec = lam[keep], vec[:, keep]
        if self.scale_mode == 'min':
            scale = lam.min()
        elif self.scale_mode == 'median':
            scale = lam.sort(descending=True).values.median()
        else:
            scale = lam.mean()
        b = scale.sqrt() * (vec / lam.sqrt()) @ vec.T
        return b.sum(1)
