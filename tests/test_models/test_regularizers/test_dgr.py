# Copyright (c) mtlpartial contributors. All rights reserved.
import copy

import pytest
import torch
import torch.nn as nn

from mtlpartial.models.heads import ConvHead
from mtlpartial.models.regularizers import DGR
from .reg_helpers import grad_of, make_ctx, make_tasks

NAMES = ('semseg', 'depth', 'normal')
LABELLED = [[1, 0, 0], [0, 1, 1], [1, 0, 1]]


def setup_model(dtype=torch.float32, seed=0, **kwargs):
    torch.manual_seed(seed)
    tasks = make_tasks(NAMES)
    encoder = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1),
                            nn.Tanh()).to(dtype)
    heads = nn.ModuleDict({
        n: ConvHead(8, t.num_outputs, channels=8, norm=True).to(dtype)
        for n, t in tasks.items()
    })
    reg = DGR(**kwargs)
    reg.setup(tasks, heads)
    reg.to(dtype)
    x = torch.randn(3, 3, 16, 16, dtype=dtype)
    feat = encoder(x)
    ctx = make_ctx(tasks, LABELLED, num_views=1, head_inputs=[(feat, )])
    if dtype != torch.float32:  # GT in the same precision
        for view in ctx.batch.targets:
            for target in view.values():
                if target.data.is_floating_point():
                    target.data = target.data.to(dtype)
    return tasks, encoder, heads, reg, ctx


def manual_dummy(reg, heads, n, task):
    """The dummy head of set ``n`` as an ordinary module."""
    head = copy.deepcopy(heads[task])
    state = {k: getattr(reg, buf) for k, buf in reg._slots[(n, task)]}
    head.load_state_dict(state)
    return head


def exact_reference(reg, ctx, heads, lam):
    total = 0.0
    for n in range(reg.num_dummy):
        dummies = {t: manual_dummy(reg, heads, n, t) for t in ctx.tasks}
        loss = sum(
            ctx.task_loss(t, ctx.head_forward(t, dummies[t],
                                              ctx.head_inputs[0]), 0)
            for t in ctx.tasks)
        params = [p for d in dummies.values() for p in d.parameters()]
        grads = torch.autograd.grad(loss, params, create_graph=True,
                                    allow_unused=True)
        total = total + sum(g.pow(2).sum() for g in grads if g is not None)
    return lam * total / reg.num_dummy


def test_dummies_are_checkpointed_buffers():
    tasks, encoder, heads, reg, ctx = setup_model(num_dummy=2)
    assert len(list(reg.parameters())) == 0
    keys = list(reg.state_dict())
    assert any(k.startswith('dummy1__semseg__') for k in keys)
    # dummies are re-initialised, not copies of the real heads
    real = heads['depth'].layers[0].conv.weight
    dummy = getattr(reg, reg._slots[(0, 'depth')][0][1])
    assert not torch.equal(real, dummy)
    # a rebuilt (differently seeded) regularizer restores the same dummies
    torch.manual_seed(123)
    other = DGR(num_dummy=2)
    other.setup(tasks, heads)
    assert not torch.equal(getattr(other, keys[0]), getattr(reg, keys[0]))
    other.load_state_dict(reg.state_dict())
    a = reg(ctx)['loss_dgr']
    b = other(ctx)['loss_dgr']
    assert torch.allclose(a, b)


def test_exact_matches_double_backward_and_grad_flow():
    tasks, encoder, heads, reg, ctx = setup_model(mode='exact', lambda_=0.1,
                                                  num_dummy=2)
    loss = reg(ctx)['loss_dgr']
    ref = exact_reference(reg, ctx, heads, 0.1)
    assert torch.allclose(loss, ref, rtol=1e-5), (loss, ref)
    # encoder receives gradient, the real heads none
    assert all(g is not None for g in grad_of(loss, encoder.parameters()))
    assert all(g is None for g in grad_of(loss, heads.parameters()))


@pytest.mark.parametrize('dtype,h', [(torch.float64, 1e-4),
                                     (torch.float32, 1e-3)])
def test_fd_agrees_with_exact(dtype, h):
    tasks, encoder, heads, reg, ctx = setup_model(dtype=dtype, mode='exact')
    exact = reg(ctx)['loss_dgr']
    g_exact = torch.cat([g.flatten() for g in grad_of(
        exact, encoder.parameters())])
    reg.mode, reg.h = 'fd', h
    fd = reg(ctx)['loss_dgr']
    g_fd = torch.cat([g.flatten() for g in grad_of(fd, encoder.parameters())])
    cos = torch.nn.functional.cosine_similarity(g_fd, g_exact, dim=0)
    assert cos > 0.99, cos
    assert torch.allclose(fd, exact, rtol=1e-2), (fd, exact)
    assert all(g is None for g in grad_of(fd, heads.parameters()))
    # the real heads' buffers / dummies are unchanged by the step
    before = {k: v.clone() for k, v in reg.state_dict().items()
              if 'running' not in k and 'num_batches' not in k}
    reg(ctx)['loss_dgr'].backward()
    for k, v in before.items():
        assert torch.equal(reg.state_dict()[k], v), k


def test_fp32_default_step_and_labelled_only():
    tasks, encoder, heads, reg, ctx = setup_model()
    out = reg(ctx)['loss_dgr']
    assert torch.isfinite(out) and float(out) > 0
    # a task without any labelled sample adds nothing: drop 'depth' labels
    for view in ctx.batch.targets:
        view.pop('depth', None)
    ctx.batch.labelled[:, 1] = False
    reg_exact = copy.deepcopy(reg)
    reg_exact.mode = 'exact'
    value = reg_exact(ctx)['loss_dgr']
    ref = exact_reference(reg_exact, ctx, heads, 0.1)
    assert torch.allclose(value, ref, rtol=1e-5)
    with pytest.raises(ValueError, match='mode'):
        DGR(mode='bad')
