# Copyright (c) mtlpartial contributors. All rights reserved.
"""Tiny packed multi-task batches for model tests."""
from typing import Sequence

import torch

from mtlpartial.registry import MODELS
from mtlpartial.tasks import build_tasks
from mtlpartial.testing import fake_packed_batch

DEMO_TASKS = dict(
    semseg=dict(type='SemSegTask', num_classes=4),
    depth=dict(type='DepthTask', stats=(2.3618, 1.5876)),
    normal=dict(type='NormalTask'))
#: the specs of DEMO_TASKS (built from a list: no task-order warning)
DEMO_SPECS = build_tasks([dict(cfg, name=n) for n, cfg in DEMO_TASKS.items()])


def make_packed_batch(labelled: Sequence[Sequence[str]],
                      num_views: int = 1,
                      h: int = 32,
                      w: int = 32,
                      seed: int = 0) -> dict:
    """A collated batch of the DEMO_TASKS as the dataloader yields it.

    Args:
        labelled: per sample, the labelled task names.
    """
    return fake_packed_batch(DEMO_SPECS, labelled, num_views, (h, w),
                             torch.Generator().manual_seed(seed))


def build_demo_model(filters: Sequence[int] = (8, 8, 16, 16, 16),
                     init_weights: bool = True,
                     **overrides):
    """A tiny MultiTaskModel of the DEMO_TASKS: an MTAN SegNet of
    ``filters`` and ConvHeads; ``overrides`` replace top-level keys."""
    cfg = dict(
        type='MultiTaskModel',
        tasks=DEMO_TASKS,
        backbone=dict(type='MTANSegNet', filters=tuple(filters)),
        heads=dict(type='ConvHead', in_channels=filters[0]))
    cfg.update(overrides)
    model = MODELS.build(cfg)
    if init_weights:
        model.init_weights()
    return model
