# Copyright (c) mtlpartial contributors. All rights reserved.
"""DiffusionMTL under (CPU, gloo) distributed training: two ranks with half
a batch each give the loss and update of one process on the whole batch
(BN-free backbone, group-norm preliminary heads, diffusion noise set to
zero so that the ranks and the single process draw the same)."""
import torch
from mmengine.registry import init_default_scope

from mtlpartial.models.diffusion import MTDNet
from mtlpartial.registry import MODELS
from tests.test_engine.test_distributed_equivalence import LABELLED, step
from tests.utils.demo_inputs import DEMO_TASKS, make_packed_batch
from tests.utils.dist_helpers import free_port, rank_step_worker, run_ranks


def build():
    init_default_scope('mtlpartial')
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='DiffusionMTL',
        tasks=DEMO_TASKS,
        backbone=dict(type='BNFreeConvNet'),
        neck=dict(type='MultiScaleFusionNeck', in_channels=[8],
                  out_channels=8, scale_factor=0.5),
        heads=dict(type='PreliminaryHead', in_channels=8,
                   norm_cfg=dict(type='GN', num_groups=1)),
        diffusion=dict(type='MTDNet', embed_dims=8, depth=1, num_heads=2,
                       mlp_ratio=2., head_channels=8),
        loss_scale=3.0))


def build_without_noise():
    """``build()`` in a fresh process, with the diffusion noise zero."""
    MTDNet.noise_like = staticmethod(torch.zeros_like)
    return build()


def test_two_ranks_equal_one_process(tmp_path, monkeypatch):
    monkeypatch.setattr(MTDNet, 'noise_like', staticmethod(torch.zeros_like))
    ref_loss, ref_params = step(build(),
                                make_packed_batch(LABELLED, h=16, w=16))
    init = dict(build().named_parameters())
    monkeypatch.undo()
    out = str(tmp_path / 'rank0.pth')
    run_ranks(rank_step_worker,
              args=(2, free_port(), build_without_noise, step,
                    make_packed_batch(LABELLED, h=16, w=16), out),
              nprocs=2)
    res = torch.load(out, weights_only=True)
    assert abs(res['loss'] - ref_loss) < 1e-5
    updated = 0
    for k, v in ref_params.items():
        updated += not torch.equal(v, init[k])
        assert torch.allclose(res['params'][k], v, atol=1e-6, rtol=0), k
    assert updated > len(ref_params) // 2


def test_noise_is_gaussian_again_after_the_test():
    x = torch.zeros(1000)
    assert MTDNet.noise_like(x).std() > 0.5
