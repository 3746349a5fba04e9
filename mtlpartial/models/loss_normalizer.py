# Copyright (c) mtlpartial contributors. All rights reserved.
"""Global loss normalisation of one batch (docs/design.md, "Loss
normalisation")."""
from dataclasses import dataclass

import torch
from mmengine.dist import all_reduce
from torch import Tensor

NORMALIZATIONS = ('image', 'batch', 'task')


@dataclass(frozen=True)
class LossNormalizer:
    """The normalisers of one (global) batch, built once per forward and
    passed explicitly to every loss computation.

    ``loss_t = Σ_{i labelled for t} w_i L_t(i) / Z`` with

    * ``'image'`` (MTPSL Eq. 1): ``w_i = 1/|T_i|``, ``Z = B``;
    * ``'batch'`` (official MTPSL/JTR code): ``w_i = 1``, ``Z = B``;
    * ``'task'``: ``w_i = 1``, ``Z = n_t`` (labelled samples of the task).

    ``B`` and ``n_t`` are global counts (summed over ranks), so that a
    K-rank run computes the loss of the concatenated batch and gradients
    are summed, not averaged.

    Attributes:
        mode (str): 'image', 'batch' or 'task'.
        labelled (Tensor): ``(B, K)`` bool label mask of this rank.
        batch_size (Tensor): global batch size (float scalar).
        task_counts (Tensor): ``(K,)`` global labelled counts (float).
    """
    mode: str
    labelled: Tensor
    batch_size: Tensor
    task_counts: Tensor

    @classmethod
    def from_labelled(cls, mode: str, labelled: Tensor) -> 'LossNormalizer':
        """Count the (global) batch size and labelled samples per task."""
        if mode not in NORMALIZATIONS:
            raise ValueError(f'normalize must be one of {NORMALIZATIONS}, '
                             f'got {mode!r}')
        counts = torch.cat([
            labelled.new_tensor([labelled.shape[0]], dtype=torch.float),
            labelled.float().sum(0)
        ])
        all_reduce(counts, op='sum')
        return cls(mode, labelled, counts[0], counts[1:])

    @property
    def task_active(self) -> Tensor:
        """``(K,)`` bool: labelled somewhere in the global batch."""
        return self.task_counts > 0

    def task_total(self, k: int, per_sample: Tensor,
                   index: Tensor) -> Tensor:
        """Normalised sum of the per-sample losses of task ``k`` for the
        labelled samples ``index``."""
        if self.mode == 'image':
            weights = 1.0 / self.labelled[index].sum(1).float()
            return (per_sample * weights).sum() / self.batch_size
        if self.mode == 'batch':
            return per_sample.sum() / self.batch_size
        return per_sample.sum() / self.task_counts[k].clamp(min=1)

    def sample_mean(self, values: Tensor) -> Tensor:
        """Global-batch mean of per-sample terms ``(B,)``."""
        return values.sum() / self.batch_size
