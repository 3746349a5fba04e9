# Copyright (c) mtlpartial contributors. All rights reserved.
"""Exact global-batch semantics under (CPU, gloo) distributed training.

Two processes with half a batch each must produce the same loss and the
same parameter update as one process on the whole batch, although the
ranks' labelled counts differ (BN-free model, tolerance 1e-6).
"""
import functools

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mtlpartial.registry import MODELS
from tests.utils.demo_inputs import DEMO_TASKS, make_packed_batch
from tests.utils.dist_helpers import free_port, rank_step_worker, run_ranks

# rank 0 holds 3 semseg labels and no depth label; rank 1 the opposite mix
LABELLED = [('semseg', ), ('semseg', 'normal'), ('semseg', ),
            ('depth', ), ('depth', 'normal'), ('normal', 'semseg')]


@MODELS.register_module(force=True)
class BNFreeConvNet(BaseModule):
    """Two convs with ReLU and no normalisation (for exact comparisons)."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU())

    def forward(self, x):
        return (self.net(x), )


def build(normalize):
    init_default_scope('mtlpartial')
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='MultiTaskModel',
            tasks=DEMO_TASKS,
            backbone=dict(type='BNFreeConvNet'),
            heads=dict(type='ConvHead', in_channels=8, init_cfg=None),
            normalize=normalize))


def step(model, data):
    ow = build_optim_wrapper(
        model,
        dict(type='MultiTaskOptimWrapper',
             constructor='MultiTaskOptimWrapperConstructor',
             optimizer=dict(type='SGD', lr=0.5)))
    log = model.train_step(data, ow)
    inner = getattr(model, 'module', model)
    params = {k: v.detach().clone() for k, v in inner.named_parameters()}
    return float(log['loss']), params


@pytest.mark.parametrize('normalize', ['image', 'task'])
def test_two_ranks_equal_one_process_on_concatenated_batch(
        tmp_path, normalize):
    ref_loss, ref_params = step(build(normalize),
                                make_packed_batch(LABELLED, h=16, w=16))
    out = str(tmp_path / 'rank0.pth')
    run_ranks(rank_step_worker,
              args=(2, free_port(), functools.partial(build, normalize), step,
                    make_packed_batch(LABELLED, h=16, w=16), out),
              nprocs=2)
    res = torch.load(out, weights_only=True)
    assert abs(res['loss'] - ref_loss) < 1e-6
    init = {k: v for k, v in build(normalize).named_parameters()}
    for k, v in ref_params.items():
        assert not torch.equal(v, init[k]), f'{k} was not updated'
        assert torch.allclose(res['params'][k], v, atol=1e-6, rtol=0), k
