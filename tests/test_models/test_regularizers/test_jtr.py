# Copyright (c) mtlpartial contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

import mtlpartial.tasks.semseg_task as semseg_task
from mtlpartial.models.regularizers import JTR
from mtlpartial.models.regularizers import SegNetAutoEncoder
from mtlpartial.models.regularizers.utils import centre_pairs
from .reg_helpers import grad_of, make_ctx, make_tasks

SMALL = dict(channels=(8, 16), convs_per_stage=(1, 2))
NAMES = ('semseg', 'depth', 'normal', 'edge')


def argmax_st(logits, tau=1.0):
    """Deterministic stand-in for the Gumbel sample (tests only)."""
    soft = logits.float().softmax(1)
    hard = torch.zeros_like(soft).scatter_(1, soft.argmax(1, keepdim=True),
                                           1.0)
    return hard - soft.detach() + soft


@pytest.fixture
def no_gumbel_noise(monkeypatch):
    monkeypatch.setattr(semseg_task, 'gumbel_softmax_st', argmax_st)


def build(tasks, **kwargs):
    cfg = dict(SMALL)
    cfg.update(kwargs)
    reg = JTR(**cfg)
    reg.setup(tasks, {})
    return reg


def official_inputs(ctx, i, view, soft_hat):
    """Per-sample Y / Ŷ / Ŷ-target / mask, official loop style."""
    tasks = ctx.tasks
    lab = ctx.labelled[i]
    mask = torch.ones(1, 1, 16, 16)
    gts = {}
    for k, (name, task) in enumerate(tasks.items()):
        if lab[k]:
            target = ctx.batch.target(name, view)
            row = (target.index == i).nonzero().item()
            gts[name] = target.data[row:row + 1]
            mask = mask * task.valid_mask(gts[name]).float()
    ys, yh, th = [], [], []
    for k, (name, task) in enumerate(tasks.items()):
        pred = ctx.preds[view][name][i:i + 1]
        if lab[k]:
            pred = pred.detach()
        if task.kind == 'semseg':
            hard = argmax_st(pred)
            soft = pred.softmax(1)
        elif task.kind == 'depth':
            hard = soft = task.cdf(pred)
        elif task.kind == 'normal':
            hard = soft = (pred + 1) / 2
        else:
            hard = soft = pred.sigmoid()
        yh.append((soft if soft_hat else hard) * mask)
        th.append(hard * mask)
        if lab[k]:
            ys.append(task.encode_gt(gts[name]) * mask)
        else:
            ys.append(hard * mask)
    return torch.cat(ys, 1), torch.cat(yh, 1), torch.cat(th, 1), mask


def official_recon(tasks, r, y, mask):
    total, c = 0.0, 0
    n = mask.sum().clamp(min=1)
    for task in tasks.values():
        m = task.encoded_channels
        ri, yi = r[:, c:c + m], y[:, c:c + m].detach()
        if task.kind == 'semseg':
            total = total + (F.binary_cross_entropy_with_logits(
                ri, yi, reduction='none') * mask).sum() / n
        elif task.kind == 'binary':
            total = total + (F.binary_cross_entropy_with_logits(
                ri, yi, reduction='none') * mask).sum() / n
        elif task.kind == 'depth':
            x = (torch.sigmoid(ri) - 0.5) * (1 - 1e-5) + 0.5
            total = total + ((x - yi).abs() * mask).sum() / n
        else:
            normal = 2 * yi - 1
            total = total + 1 - (F.normalize(ri, dim=1) * normal *
                                 mask).sum() / n
        c += m
    return total


def official_loss(reg, ctx):
    ae = SegNetAutoEncoder(reg.ae.head[1].out_channels, reg.channels,
                           reg.convs_per_stage, norm='batch')
    # mmcv names the norm layer by its kind ('in' / 'bn')
    state = {k.replace('.in.', '.bn.'): v
             for k, v in reg.ae.state_dict().items()}
    missing = ae.load_state_dict(state, strict=False)
    assert not missing.unexpected_keys
    ae.train()
    b = ctx.labelled.shape[0]
    d1s, d2s, recs = [], [], []
    for i in range(b):
        y1, yh1, _, _ = official_inputs(ctx, i, 1, False)
        y2, yh2, th2, mask2 = official_inputs(ctx, i, 2, True)
        frozen = {k: v.detach() for k, v in ae.named_parameters()}
        z_a, _ = torch.func.functional_call(ae, frozen, (y1, ))
        z_b, _ = torch.func.functional_call(ae, frozen, (yh1, ))
        d1s.append(1 - F.cosine_similarity(z_a, z_b, dim=1).mean())
        z_c, r_c = ae(y2.detach())
        z_d, r_d = ae(yh2.detach())
        d2s.append(1 - F.cosine_similarity(z_c, z_d, dim=1).mean())
        recs.append(official_recon(ctx.tasks, r_c, y2, mask2) +
                    official_recon(ctx.tasks, r_d, th2, mask2))
    return (torch.stack(d1s).sum() / b, torch.stack(d2s).sum() / b,
            torch.stack(recs).sum() / b)


def test_matches_official_loop(no_gumbel_noise):
    torch.manual_seed(0)
    tasks = make_tasks(NAMES)
    labelled = [[1, 0, 0, 0], [0, 1, 1, 0], [1, 1, 1, 1], [0, 0, 0, 1]]
    reg = build(tasks)
    ctx = make_ctx(tasks, labelled, num_views=3)
    out = reg(ctx)
    d1, d2, rec = official_loss(reg, ctx)
    assert torch.allclose(out['loss_d1'], 4 * d1, atol=1e-5)
    assert torch.allclose(out['loss_d2'], 8 * d2, atol=1e-5)
    assert torch.allclose(out['loss_recon'], 2 * rec, atol=1e-5)


@pytest.mark.parametrize('centre_latents', [(), ('d2', ), ('d1', 'd2')])
def test_gradient_flow_table(no_gumbel_noise, centre_latents):
    tasks = make_tasks(('semseg', 'depth', 'normal'))
    labelled = [[1, 0, 0], [0, 1, 1], [1, 1, 1]]
    lab = torch.tensor(labelled, dtype=torch.bool)
    reg = build(tasks, centre_latents=centre_latents)
    ctx = make_ctx(tasks, labelled, num_views=3)
    out = reg(ctx)
    ae = list(reg.ae.parameters())
    # d1: nothing to the auto-encoder; only unlabelled predictions of view 1
    assert all(g is None for g in grad_of(out['loss_d1'], ae))
    for k, name in enumerate(tasks):
        (g, ) = grad_of(out['loss_d1'], [ctx.preds[1][name]])
        for i in range(3):
            got = g is not None and bool(g[i].abs().sum() > 0)
            assert got == (not bool(lab[i, k])), (name, i)
        for v in (0, 2):
            assert grad_of(out['loss_d1'], [ctx.preds[v][name]]) == [None]
    # d2 and reconstruction: only the auto-encoder
    for key in ('loss_d2', 'loss_recon'):
        preds = [p for view in ctx.preds for p in view.values()]
        assert all(g is None for g in grad_of(out[key], preds)), key
        assert any(g is not None for g in grad_of(out[key], ae)), key
    # the frozen pass leaves the real normalisation buffers untouched
    reg_b = build(tasks, norm='batch')
    before = {k: v.clone() for k, v in reg_b.ae.named_buffers()}
    y1, yh1, _, _ = reg_b.build_inputs(ctx, 1, soft_hat=False)
    reg_b.frozen_latent(torch.cat([y1, yh1]))
    for k, v in reg_b.ae.named_buffers():
        assert torch.equal(v, before[k]), k


def test_depth_stats_from_spec_and_bad_kind():
    tasks = make_tasks(('semseg', 'depth'))
    tasks['depth'].stats = (0.1, 0.05)
    reg = build(tasks)
    ctx = make_ctx(tasks, [[1, 0]], num_views=3)
    _, y_hat, _, _ = reg.build_inputs(ctx, 1, soft_hat=True)
    expected = tasks['depth'].cdf(ctx.preds[1]['depth'].detach())
    mask = (ctx.batch.target('semseg', 1).data != 255).float()
    assert torch.allclose(y_hat[:, 4:5], expected * mask)
    tasks['depth'].kind = 'other'
    with pytest.raises(ValueError, match='unsupported kind'):
        build(tasks)


def test_lite_views_use_view_one_for_every_term(no_gumbel_noise):
    """``views=2`` (lite) computes d2 and L_rec on view 1: the losses of a
    three-view run whose view 2 repeats view 1."""
    import dataclasses

    from mtlpartial.structures import MultiTaskBatch
    tasks = make_tasks(('semseg', 'depth', 'normal'))
    labelled = [[1, 0, 0], [0, 1, 1], [1, 1, 1]]
    ctx2 = make_ctx(tasks, labelled, num_views=2)
    b = ctx2.batch
    batch3 = MultiTaskBatch(b.samples, b.task_names, b.labelled,
                            b.targets + [b.targets[1]])
    ctx3 = dataclasses.replace(
        ctx2, batch=batch3, preds=ctx2.preds + [ctx2.preds[1]],
        feats=ctx2.feats + [ctx2.feats[1]],
        head_inputs=ctx2.head_inputs + [ctx2.head_inputs[1]],
        images=None if ctx2.images is None else
        ctx2.images + [ctx2.images[1]])
    torch.manual_seed(0)
    lite = build(tasks, views=2)
    full = build(tasks)
    full.load_state_dict(lite.state_dict())
    assert (lite.num_views, full.num_views) == (2, 3)
    out2, out3 = lite(ctx2), full(ctx3)
    for key in ('loss_d1', 'loss_d2', 'loss_recon'):
        torch.testing.assert_close(out2[key], out3[key])
    with pytest.raises(ValueError, match='views must be 3'):
        build(tasks, views=1)


def test_centre_pairs_removes_a_shared_vector():
    torch.manual_seed(0)
    a, b = torch.randn(4, 5, 2, 3), torch.randn(4, 5, 2, 3)
    shared = 10 * torch.randn(1, 5, 2, 3)
    ca, cb = centre_pairs(a, b)
    sa, sb = centre_pairs(a + shared, b + shared)
    assert torch.allclose(ca, sa, atol=1e-5)
    assert torch.allclose(cb, sb, atol=1e-5)
    assert torch.allclose(torch.cat([ca, cb]).mean(0), torch.zeros(5, 2, 3),
                          atol=1e-6)
    # no gradient to a shared vector through the centred pair
    shared.requires_grad_(True)
    sa, sb = centre_pairs(a + shared, b + shared)
    (g, ) = torch.autograd.grad((sa * sb).sum(), [shared])
    assert torch.allclose(g, torch.zeros_like(g), atol=1e-4)
    with pytest.raises(ValueError, match='at least 2 items'):
        centre_pairs(a[:1], b[:1])


@pytest.mark.parametrize('centre', [('d1', 'd2'), ('d2', ), ('d1', )])
def test_centre_latents_distances(no_gumbel_noise, centre):
    """A distance named in ``centre_latents`` is the cosine distance of the
    latents minus their batch mean, the other the raw one."""
    torch.manual_seed(0)
    tasks = make_tasks(('semseg', 'depth', 'normal'))
    labelled = [[1, 0, 0], [0, 1, 1], [1, 1, 1], [0, 0, 1]]
    raw, centred = build(tasks), build(tasks, centre_latents=centre)
    centred.ae.load_state_dict(raw.ae.state_dict())
    ctx = make_ctx(tasks, labelled, num_views=3)
    b = len(labelled)

    def expected_d(z, centre):
        z_y, z_hat = z[:b], z[b:]
        if centre:
            mean = z.mean(0, keepdim=True)
            z_y, z_hat = z_y - mean, z_hat - mean
        cos = F.cosine_similarity(z_y, z_hat, dim=1)
        return (1 - cos.flatten(1).mean(1)).mean()

    y1, yh1, _, _ = raw.build_inputs(ctx, 1, soft_hat=False)
    y2, yh2, _, _ = raw.build_inputs(ctx, 2, soft_hat=True)
    z1 = raw.frozen_latent(torch.cat([y1, yh1]))
    z2, _ = raw.ae(torch.cat([y2, yh2]))
    for reg, names in ((raw, ()), (centred, centre)):
        out = reg(ctx)
        assert torch.allclose(out['loss_d1'],
                              4 * expected_d(z1, 'd1' in names), atol=1e-5)
        assert torch.allclose(out['loss_d2'],
                              8 * expected_d(z2, 'd2' in names), atol=1e-5)
    out, out_raw = centred(ctx), raw(ctx)
    for name in ('d1', 'd2'):
        same = torch.allclose(out[f'loss_{name}'], out_raw[f'loss_{name}'])
        assert same == (name not in centre), name


@pytest.mark.parametrize('bad', [True, 'd2', ('d3', )])
def test_centre_latents_bad_values(bad):
    with pytest.raises(ValueError, match="'d1' and/or 'd2'"):
        build(make_tasks(('semseg', 'depth')), centre_latents=bad)
