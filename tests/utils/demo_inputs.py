# Copyright (c) mtlpartial contributors. All rights reserved.
"""Tiny packed multi-task batches for model tests."""
from typing import Dict, List, Optional, Sequence

import torch

from mtlpartial.structures import MultiTaskDataSample

DEMO_TASKS = dict(
    semseg=dict(type='SemSegTask', num_classes=4),
    depth=dict(type='DepthTask', stats=(2.3618, 1.5876)),
    normal=dict(type='NormalTask'))


def demo_gt(kind: str, num_views: int, h: int, w: int,
            g: torch.Generator, num_classes: int = 4) -> torch.Tensor:
    if kind == 'semseg':
        return torch.randint(0, num_classes, (num_views, 1, h, w),
                             generator=g)
    if kind == 'depth':
        return torch.rand(num_views, 1, h, w, generator=g) * 5 + 0.1
    if kind == 'normal':
        n = torch.randn(num_views, 3, h, w, generator=g)
        return n / n.norm(dim=1, keepdim=True)
    if kind == 'binary':
        return (torch.rand(num_views, 1, h, w, generator=g) > 0.5).float()
    raise ValueError(kind)


def make_packed_batch(labelled: Sequence[Sequence[str]],
                      tasks: Optional[Dict[str, str]] = None,
                      num_views: int = 1,
                      h: int = 32,
                      w: int = 32,
                      seed: int = 0) -> dict:
    """A collated batch as the dataloader yields it.

    Args:
        labelled: per sample, the labelled task names.
        tasks: ``{name: kind}``; defaults to semseg/depth/normal.
    """
    tasks = tasks or dict(semseg='semseg', depth='depth', normal='normal')
    g = torch.Generator().manual_seed(seed)
    inputs: List[torch.Tensor] = []
    samples: List[MultiTaskDataSample] = []
    for i, names in enumerate(labelled):
        inputs.append(torch.rand(num_views, 3, h, w, generator=g))
        s = MultiTaskDataSample(metainfo=dict(
            tasks=tuple(tasks), labelled_tasks=tuple(names), sample_idx=i,
            view_boxes=torch.tensor([[0., 0., 1., 1.]] * num_views),
            view_flips=torch.zeros(num_views, dtype=torch.bool)))
        for t in names:
            s.set_gt(t, demo_gt(tasks[t], num_views, h, w, g))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)
