# Copyright (c) mtlpartial contributors. All rights reserved.
"""Equal weighting (linear scalarisation)."""
import torch

from mtlpartial.registry import BALANCERS
from .base_balancer import BaseLossWeighting


@BALANCERS.register_module()
class EW(BaseLossWeighting):
    """All task weights 1: the update is the gradient of ``Σ_k L_k``.

    This is the *sum* convention of the plain ``OptimWrapper`` (mmengine's
    ``parse_losses``) and of LibMTL, Nash-MTL and MTAN; Pylon/torchjd
    ``Mean`` divide by K.
    """

    def _weights(self, losses, tasks, gramian, epoch):
        return torch.ones_like(losses)
