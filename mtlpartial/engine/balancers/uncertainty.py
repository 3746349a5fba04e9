# Copyright (c) mtlpartial contributors. All rights reserved.
"""Uncertainty weighting (Kendall et al., CVPR 2018)."""
import torch
from torch import Tensor

from mtlpartial.registry import BALANCERS
from .log_scale_weighting import LogScaleWeighting


@BALANCERS.register_module()
class Uncertainty(LogScaleWeighting):
    """Homoscedastic uncertainty: ``Σ_i ½ e^{−s_i} L_i + ½ s_i``.

    ``s_i = log σ_i²`` is a learnable parameter trained by the model
    optimizer (a param group added by the optim wrapper constructor). Task
    losses are weighted by ``½ e^{−s_i}`` (detached), ``s`` by
    ``balancer_loss`` with the loss values detached; the gradients equal
    those of the joint objective. Peers initialise ``s`` to 0 (Nash-MTL,
    torchjd), −0.5 (LibMTL, MTAN) or −0.7 (Auto-λ).

    Args:
        init (float): initial ``s``. Defaults to 0.
    """

    param_name = 'log_vars'

    def task_weights(self, s: Tensor) -> Tensor:
        return 0.5 * torch.exp(-s)

    def objective(self, s: Tensor, losses: Tensor) -> Tensor:
        return 0.5 * torch.exp(-s) * losses + 0.5 * s
