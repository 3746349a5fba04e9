# Copyright (c) mtlpartial contributors. All rights reserved.
"""Every balancer trains a multi-task model alone, with JTR and with DGR
(regularizer terms are added after the task gradients are combined)."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mtlpartial.engine  # noqa: F401
from mtlpartial.registry import BALANCERS, MODELS
from tests.utils.demo_inputs import DEMO_TASKS, make_packed_batch

init_default_scope('mtlpartial')
F = (8, 8, 8, 8, 8)
REGS = dict(
    alone=None,
    jtr=dict(type='JTR', channels=F, norm='instance'),
    dgr=dict(type='DGR'))
ONELABEL = [('semseg', ), ('depth', ), ('normal', ), ('semseg', )]


def balancer_cfg(name):
    # outside a runner there is no epoch: DWA averages over call windows
    return dict(type=name, window=1) if name == 'DWA' else dict(type=name)


@pytest.mark.parametrize('reg', list(REGS))
@pytest.mark.parametrize('balancer', sorted(BALANCERS.module_dict))
def test_balancer_trains(balancer, reg):
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='MultiTaskModel', tasks=DEMO_TASKS,
             backbone=dict(type='MTANSegNet', filters=F),
             heads=dict(type='ConvHead', in_channels=8),
             regularizers=[REGS[reg]] if REGS[reg] else []))
    ow = build_optim_wrapper(
        model,
        dict(type='MultiTaskOptimWrapper',
             constructor='MultiTaskOptimWrapperConstructor',
             optimizer=dict(type='Adam', lr=1e-3),
             balancer=balancer_cfg(balancer)))
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    for step in range(2 if reg == 'alone' else 1):
        data = make_packed_batch(ONELABEL, num_views=model.num_views,
                                 h=32, w=32, seed=step)
        log = model.train_step(data, ow)
        assert torch.isfinite(torch.as_tensor(float(log['loss'])))
    changed = [k for k, v in model.named_parameters()
               if not torch.equal(v, before[k])]
    assert any(k.startswith('backbone.') for k in changed)
    assert any(k.startswith('heads.') for k in changed)
    if reg == 'jtr':  # the auto-encoder is trained by its own terms
        assert any(k.startswith('regularizers.0.') for k in changed)
