# Copyright (c) mtlpartial contributors. All rights reserved.
"""Stability options of the regularizers (warm-up, ramp-up, MTPSL full
pairs, JTR Gumbel sampling) and the diagnostics."""
import json

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope

from mtlpartial.engine.hooks import regularizer_diagnostics_hook as hook_mod
from mtlpartial.models.diagnostics import cosine_gap
from mtlpartial.models.regularizers import JTR, MTPSL
from mtlpartial.registry import HOOKS, MODELS
from tests.utils.demo_inputs import (DEMO_TASKS, build_demo_model,
                                     make_packed_batch)
from .reg_helpers import make_ctx, make_tasks

init_default_scope('mtlpartial')

NETWORK_REGS = [
    dict(type='MTPSL', channels=(8, 16), convs_per_stage=(1, 1),
         in_width=8, feat_channels=16),
    dict(type='JTR', channels=(8, 16), convs_per_stage=(1, 1)),
    dict(type='DirectMap', channels=(4, 8)),
    dict(type='PerceptualMap', channels=(4, 8)),
    dict(type='DGR'),
]
LABELLED = [('semseg', ), ('depth', 'normal'), ('normal', )]


@pytest.fixture(autouse=True)
def no_runner_iteration():
    """Without a runner the model's own step count is the iteration: a
    fresh message hub, so that no 'iter' left by an earlier test's runner
    is read instead."""
    MessageHub.get_instance(f'test_stability_options-{id(object())}')


def build_model(reg, **train_cfg):
    torch.manual_seed(0)
    return build_demo_model(regularizers=[reg], train_cfg=train_cfg)


def reg_grads(model, it):
    """Gradients of the regularizer's losses at iteration ``it`` w.r.t. the
    MTL network's and the regularizer's own parameters."""
    model._iter = it  # no runner: the model's own step count is the iter
    data = make_packed_batch(LABELLED, num_views=model.num_views)
    batch = model.data_preprocessor(data, True)
    losses = model(**batch, mode='loss')
    name = model.regularizers[0].name
    total = sum(v for k, v in losses.items()
                if k.startswith(f'{name}.loss') and v.requires_grad)
    own = list(model.regularizers[0].parameters())
    own_ids = {id(p) for p in own}
    mtl = [p for p in model.parameters() if id(p) not in own_ids]
    grads = torch.autograd.grad(total, mtl + own, allow_unused=True)
    norm = [0.0 if g is None else float(g.abs().sum()) for g in grads]
    return sum(norm[:len(mtl)]), sum(norm[len(mtl):])


@pytest.mark.parametrize('reg', NETWORK_REGS, ids=lambda r: r['type'])
def test_warmup_keeps_gradient_from_the_mtl_network(reg):
    model = build_model(dict(reg, warmup_iters=3))
    mtl, own = reg_grads(model, it=2)
    assert mtl == 0.0
    if list(model.regularizers[0].parameters()):
        assert own > 0  # its own networks train during the warm-up
    mtl, _ = reg_grads(model, it=3)
    assert mtl > 0


def test_rampup_iters_and_epochs():
    tasks = make_tasks(['semseg', 'depth', 'normal'])
    labelled = [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    reg = MODELS.build(dict(type='DirectMap', channels=(4, 8), view=0,
                            warmup_iters=4, rampup_iters=10))
    reg.setup(tasks, {})
    plain = MODELS.build(dict(type='DirectMap', channels=(4, 8), view=0))
    plain.setup(tasks, {})
    plain.load_state_dict(reg.state_dict())
    for it, factor in [(4, 0.0), (9, 0.5), (14, 1.0), (40, 1.0)]:
        ctx = make_ctx(tasks, labelled, num_views=1)
        ctx.iter = it
        out, ref = reg.regularize(ctx), plain.regularize(ctx)
        for key in ref:
            assert torch.allclose(out[key], factor * ref[key]), (it, key)
    # during the warm-up the (detached) losses train the maps at full weight
    ctx = make_ctx(tasks, labelled, num_views=1)
    ctx.iter = 1
    assert torch.allclose(reg.regularize(ctx)['loss_direct'],
                          plain.regularize(ctx)['loss_direct'])
    by_epoch = MODELS.build(dict(type='DirectMap', channels=(4, 8), view=0,
                                 rampup_epochs=2))
    by_epoch.setup(tasks, {})
    ctx = make_ctx(tasks, labelled, num_views=1)
    ctx.iter, ctx.iters_per_epoch = 5, 10.0
    assert by_epoch.rampup_factor(ctx) == pytest.approx(0.25)
    ctx.iters_per_epoch = None
    with pytest.raises(ValueError, match='rampup_iters'):
        by_epoch.rampup_factor(ctx)
    with pytest.raises(ValueError, match='not both'):
        MODELS.build(dict(type='DirectMap', rampup_iters=2,
                          rampup_epochs=1))
    with pytest.raises(ValueError, match='warmup_iters'):
        MODELS.build(dict(type='DirectMap', warmup_iters=-1))


def test_mtpsl_full_pairs():
    labelled = torch.tensor([[1, 0, 0], [1, 1, 0]], dtype=torch.bool)
    partial = MTPSL().pair_items(labelled).tolist()
    assert partial == [[0, 1, 0], [0, 2, 0], [1, 2, 0], [1, 2, 1]]
    full = MTPSL(pairs='full').pair_items(labelled).tolist()
    assert full == [[0, 1, 0], [0, 2, 0], [1, 0, 1], [1, 1, 0], [1, 2, 0],
                    [1, 2, 1]]
    everything = MTPSL(pairs='full').pair_items(torch.ones(1, 3).bool())
    assert everything.shape[0] == 6  # the official --ssl-type full
    with pytest.raises(ValueError, match='pairs'):
        MTPSL(pairs='all')


@pytest.mark.parametrize('independent', [True, False])
def test_jtr_gumbel_samples(independent):
    tasks = make_tasks(['semseg', 'depth'])
    jtr = JTR(channels=(8, 16), convs_per_stage=(1, 1),
              independent_gumbel=independent)
    jtr.setup(tasks, {})
    ctx = make_ctx(tasks, [[0, 1], [0, 1]], num_views=3, h=32, w=32)
    torch.manual_seed(0)
    y, y_hat, target, _ = jtr.build_inputs(ctx, 1, soft_hat=False)
    seg = slice(0, tasks['semseg'].num_classes)
    same = torch.equal(y[:, seg], y_hat[:, seg])
    assert same != independent
    assert torch.equal(target, y_hat)


def test_diagnostics_logged_and_correct():
    model = build_model(NETWORK_REGS[0], diagnostics_interval=2)
    data = make_packed_batch(LABELLED, num_views=2)
    batch = model.data_preprocessor(data, True)
    model._iter = 1
    assert not any('grad_ratio' in k for k in model(**batch, mode='loss'))
    model._iter = 2
    losses = model(**batch, mode='loss')
    assert {'mtpsl.grad_ratio', 'mtpsl.cos_gap',
            'diag.sup_grad_norm'} <= set(losses)
    shared = model.shared_parameters()

    def norm(loss):
        grads = torch.autograd.grad(loss, shared, retain_graph=True,
                                    allow_unused=True)
        return torch.sqrt(sum(g.pow(2).sum() for g in grads
                              if g is not None))

    sup = norm(sum(losses[f'loss_{t}'] for t in DEMO_TASKS))
    reg = norm(losses['mtpsl.loss_cross'] + losses['mtpsl.loss_feat'])
    assert torch.allclose(losses['mtpsl.grad_ratio'], reg / sup, rtol=1e-4)
    assert not losses['mtpsl.grad_ratio'].requires_grad


def test_cosine_gap():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(6, 8, 3, 3, generator=g)
    assert cosine_gap(a, a) > 0.5
    collapsed = torch.randn(1, 8, 3, 3, generator=g).repeat(6, 1, 1, 1)
    assert abs(float(cosine_gap(collapsed, collapsed))) < 1e-5
    ids = torch.tensor([0, 1, 2, 3, 4, 5])
    assert torch.isnan(cosine_gap(a, a, ids))


def test_collapse_warning(monkeypatch, tmp_path):
    messages = []
    monkeypatch.setattr(hook_mod, 'print_log',
                        lambda msg, **kw: messages.append(msg))
    hook = HOOKS.build(dict(type='RegularizerDiagnosticsHook',
                            threshold=0.01, patience=2))
    runner = type('R', (), {'iter': 10, 'log_dir': str(tmp_path)})()
    for gap in [0.5, 0.001, 0.002, 0.001, 0.5, 0.0, 0.0]:
        hook.after_train_iter(runner, 0, outputs={
            'jtr.cos_gap': torch.tensor(gap),
            'jtr.grad_ratio': torch.tensor(0.02), 'loss': torch.tensor(1.)})
    assert len(messages) == 2  # once per collapse episode
    assert 'regularizer "jtr"' in messages[0] and '0.02' in messages[0]
    assert 'neither help nor hurt' in messages[0]
    lines = (tmp_path / 'diagnostics.jsonl').read_text().splitlines()
    assert len(lines) == 7
    assert json.loads(lines[1]) == pytest.approx(
        {'iter': 11, 'jtr.cos_gap': 0.001, 'jtr.grad_ratio': 0.02})


def test_collapse_warning_says_what_a_live_gradient_means():
    """A collapsed space whose gradient still reaches the network is not
    harmless (MTPSL on the synthetic protocol: gap ~0 from the first
    iterations, gradient 0.1-0.4x the supervised one after the warm-up)."""
    hook_cls = HOOKS.get('RegularizerDiagnosticsHook')
    assert 'neither help nor hurt' in hook_cls.consequence(0.0)
    live = hook_cls.consequence(0.3)
    assert '0.3x' in live and 'neither' not in live
    assert hook_cls.consequence(None) == ''


@pytest.mark.parametrize('reg', NETWORK_REGS, ids=lambda r: r['type'])
def test_regularizers_do_not_change_the_shared_initialisation(reg):
    """Paired seeds: the backbone and heads start from the same weights
    with and without a regularizer (and the RNG after building is the
    same)."""
    def init(regs):
        torch.manual_seed(7)
        model = MODELS.build(
            dict(type='MultiTaskModel', tasks=DEMO_TASKS,
                 backbone=dict(type='MTANSegNet',
                               filters=(8, 8, 16, 16, 16)),
                 heads=dict(type='ConvHead', in_channels=8),
                 regularizers=regs))
        model.init_weights()
        return model, torch.rand(3)

    plain, after_plain = init([])
    with_reg, after_reg = init([reg])
    shared = {k: v for k, v in with_reg.state_dict().items()
              if not k.startswith('regularizers.')}
    assert shared.keys() == plain.state_dict().keys()
    for key, value in plain.state_dict().items():
        assert torch.equal(value, shared[key]), key
    assert torch.equal(after_plain, after_reg)
