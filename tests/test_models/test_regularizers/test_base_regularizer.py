# Copyright (c) mtlpartial contributors. All rights reserved.
"""The checks every regularizer shares (BaseRegularizer.setup /
check_context / zero_loss)."""
import pytest
import torch

from mtlpartial.models.regularizers import JTR, MTPSL, SSLConsistency
from .reg_helpers import make_ctx, make_tasks

MTPSL_SMALL = dict(channels=(8, 16), convs_per_stage=(1, 1), in_width=8,
                   feat_channels=16)


def test_setup_records_tasks_and_needs_enough_of_them():
    tasks = make_tasks(['semseg', 'depth'])
    reg = MTPSL(**MTPSL_SMALL)
    reg.setup(tasks, {})
    assert reg.task_names == ('semseg', 'depth')
    with pytest.raises(ValueError, match='needs >= 2 tasks'):
        JTR().setup(make_tasks(['depth']), {})


def test_regularize_checks_the_context():
    tasks = make_tasks(['semseg', 'depth'])
    reg = MTPSL(**MTPSL_SMALL)
    ctx = make_ctx(tasks, [[1, 0], [0, 1]], num_views=2)
    with pytest.raises(RuntimeError, match=r'setup\(tasks, heads\)'):
        reg.regularize(ctx)
    reg.setup(tasks, {})
    assert set(reg.regularize(ctx)) == {'loss_cross', 'loss_feat'}
    other = make_ctx(make_tasks(['depth', 'semseg']), [[1, 0], [0, 1]],
                     num_views=2)
    with pytest.raises(ValueError, match='built for tasks'):
        reg.regularize(other)
    one_view = make_ctx(tasks, [[1, 0], [0, 1]], num_views=1)
    with pytest.raises(ValueError, match='needs 2 views, got 1'):
        reg.regularize(one_view)
    ssl = SSLConsistency()
    ssl.setup(tasks, {})
    with pytest.raises(ValueError, match='needs 2 views, got 1'):
        ssl.regularize(one_view)


def test_zero_loss_reaches_every_parameter():
    tasks = make_tasks(['semseg', 'depth'])
    reg = MTPSL(**MTPSL_SMALL)
    reg.setup(tasks, {})
    zero = reg.zero_loss(torch.ones(2))
    assert float(zero) == 0.0
    zero.backward()
    assert all(p.grad is not None for p in reg.parameters())
