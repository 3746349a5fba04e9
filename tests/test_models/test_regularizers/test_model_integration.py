# Copyright (c) mtlpartial contributors. All rights reserved.
"""Every regularizer inside a real MultiTaskModel: builds from config,
returns finite losses and one optimizer step runs."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from tests.utils.demo_inputs import build_demo_model, make_packed_batch

init_default_scope('mtlpartial')

REGS = [
    dict(type='MTPSL', channels=(8, 16), convs_per_stage=(1, 1),
         in_width=8, feat_channels=16),
    dict(type='SSLConsistency'),
    dict(type='DirectMap', channels=(4, 8)),
    dict(type='JTR', channels=(8, 16), convs_per_stage=(1, 1)),
    dict(type='DGR'),
]


@pytest.mark.parametrize('reg', REGS, ids=lambda r: r.get('name', r['type']))
def test_train_step(reg):
    torch.manual_seed(0)
    model = build_demo_model(regularizers=[reg])
    data = make_packed_batch([('semseg', ), ('depth', 'normal'),
                              ('normal', )], num_views=model.num_views)
    optim = build_optim_wrapper(
        model,
        dict(type='MultiTaskOptimWrapper',
             constructor='MultiTaskOptimWrapperConstructor',
             optimizer=dict(type='SGD', lr=1e-3)))
    batch = model.data_preprocessor(data, True)
    losses = model(**batch, mode='loss')
    name = model.regularizers[0].name
    terms = [k for k in losses if k.startswith(f'{name}.loss_')]
    assert terms
    assert all(torch.isfinite(losses[k]) for k in terms)
    log = model.train_step(data, optim)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log.values())
