# Copyright (c) mtlpartial contributors. All rights reserved.
"""Batched helpers shared by the partial-label regularizers."""
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mtlpartial.structures import LabelledTarget, MultiTaskBatch
from mtlpartial.tasks import BaseTask


def cosine_distance_map(a: Tensor, b: Tensor, eps: float = 1e-12) -> Tensor:
    """``1 - cos(a, b)`` over channels, averaged over positions.

    Args:
        a, b: ``(N, C, h, w)`` feature maps.

    Returns:
        Tensor: ``(N,)`` per-item cosine distance (MTPSL/JTR distance).
    """
    cos = F.cosine_similarity(a.float(), b.float(), dim=1, eps=eps)
    return 1 - cos.flatten(1).mean(1)


def centre_pairs(a: Tensor, b: Tensor) -> Tuple[Tensor, Tensor]:
    """``a`` and ``b`` minus their joint mean over the batch.

    The mean is taken over the ``2N`` items of ``a`` and ``b`` (the mean of
    their two batch means, without concatenating them), per channel and
    position, and is not detached: a vector shared by every item has no
    effect on the result, nor any gradient through it.

    Args:
        a, b: ``(N, C, h, w)`` feature maps, ``N >= 2`` (with one item,
            ``a - m`` and ``b - m`` are opposite whatever they are).

    Returns:
        Tuple[Tensor, Tensor]: the centred ``a`` and ``b``.
    """
    if a.shape[0] < 2:
        raise ValueError(f'centre_pairs needs at least 2 items per batch to '
                         f'remove their mean, got {a.shape[0]}')
    mean = (a.mean(0, keepdim=True) + b.mean(0, keepdim=True)) / 2
    return a - mean, b - mean


def target_rows(target: Optional[LabelledTarget], batch_size: int,
                device) -> Tensor:
    """``(B,)`` int64: the row of each sample in ``target.data`` or -1."""
    rows = torch.full((batch_size, ), -1, dtype=torch.long, device=device)
    if target is not None and target.count:
        rows[target.index.to(device)] = torch.arange(
            target.count, device=device)
    return rows


def gather_gt(batch: MultiTaskBatch, task: str, view: int,
              samples: Tensor) -> Tensor:
    """Ground truth of ``task`` in ``view`` for ``samples`` (all labelled).

    Raises:
        KeyError: if one of ``samples`` is not labelled for ``task``.
    """
    target = batch.target(task, view)
    rows = target_rows(target, batch.batch_size, samples.device)[samples]
    if bool((rows < 0).any()):
        raise KeyError(f'regularizer asked for the ground truth of task '
                       f'"{task}" (view {view}) of unlabelled samples '
                       f'{samples[rows < 0].tolist()}; only labelled '
                       'targets exist')
    return target.data[rows]


def sample_meta(batch: MultiTaskBatch, key: str, dtype) -> Tensor:
    """Stack a per-sample metainfo array (e.g. ``view_boxes``).

    Raises:
        KeyError: naming the key if a sample lacks it.
    """
    values = []
    for i, sample in enumerate(batch):
        value = sample.metainfo.get(key)
        if value is None:
            raise KeyError(
                f'sample {i} (sample_idx='
                f'{sample.metainfo.get("sample_idx")}) has no metainfo '
                f'"{key}"; it is written by the MultiView transform, add '
                'it to the train pipeline')
        values.append(torch.as_tensor(np.asarray(value), dtype=dtype))
    return torch.stack(values)


def channel_flip_signs(task: BaseTask, channels: int) -> Tensor:
    """Per-channel sign change of a horizontal flip, read from the spec's
    own ``flip_gt`` (e.g. normals: ``(-1, 1, 1)``), so no task is named."""
    probe = np.ones((1, 1, channels), dtype=np.float32)
    signs = np.asarray(task.flip_gt(probe), dtype=np.float32).reshape(-1)
    if signs.shape[0] != channels:
        raise ValueError(f'task "{task.name}": flip_gt changed the channel '
                         f'count ({channels} -> {signs.shape[0]})')
    return torch.from_numpy(signs)


def view_alignment_grid(boxes: Tensor, flips: Tensor,
                        size: Tuple[int, int]) -> Tensor:
    """Sampling grid that maps view 0 onto view ``v``.

    Args:
        boxes: ``(B, 4)`` region ``(x0, y0, x1, y1)`` of view 0 shown by
            view ``v``, normalised to ``[0, 1]``.
        flips: ``(B,)`` bool, view ``v`` horizontally flipped w.r.t. view 0.
        size: ``(H, W)`` of view ``v``.

    Returns:
        Tensor: ``(B, H, W, 2)`` grid for ``F.grid_sample`` (with
        ``align_corners=False``) applied to view-0 maps.
    """
    boxes = boxes.float()
    x0, y0, x1, y1 = boxes.unbind(1)
    sx = (x1 - x0) * torch.where(flips, -1.0, 1.0).to(boxes)
    theta = torch.zeros(boxes.shape[0], 2, 3, device=boxes.device)
    theta[:, 0, 0] = sx
    theta[:, 0, 2] = x0 + x1 - 1
    theta[:, 1, 1] = y1 - y0
    theta[:, 1, 2] = y0 + y1 - 1
    n = boxes.shape[0]
    return F.affine_grid(theta, [n, 1, size[0], size[1]], align_corners=False)

