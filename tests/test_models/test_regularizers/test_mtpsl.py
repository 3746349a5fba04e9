# Copyright (c) mtlpartial contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from mtlpartial.models.regularizers import MTPSL
from mtlpartial.models.regularizers.mtpsl import pair_codes
from .reg_helpers import grad_of, make_ctx, make_tasks

SMALL = dict(channels=(8, 16), convs_per_stage=(1, 2), in_width=8,
             feat_channels=16)


def build(tasks, **kwargs):
    cfg = dict(SMALL)
    cfg.update(kwargs)
    reg = MTPSL(**cfg)
    reg.setup(tasks, {})
    return reg


def official_pair_onehot(s, t, k):
    a = torch.zeros(k, k)
    a[s, t] = 1.0
    return a.flatten()[:-1].view(k - 1, k + 1)[:, 1:].flatten().view(1, -1)


def bn_batch1(x, norm):
    """Official: BatchNorm at batch size 1 in train mode."""
    return F.batch_norm(x, None, None, norm.weight, norm.bias, training=True,
                        eps=norm.eps)


def official_map(reg, x, task_index, onehot):
    """Looped official-style forward of one item (batch 1)."""
    layer = reg.mapping.input_layers[task_index]
    x = F.relu(bn_batch1(layer.conv(x), layer.norm))
    for stage in reg.mapping.stages:
        for conv in stage:
            y = bn_batch1(conv.conv(x), conv.norm)
            gamma = torch.mm(onehot, conv.film_gamma).view(1, -1, 1, 1)
            beta = torch.mm(onehot, conv.film_beta).view(1, -1, 1, 1)
            x = F.relu(y * gamma + beta)
        x = F.max_pool2d(x, 2, 2)
    return x


def official_loss(reg, ctx, reg_weight):
    tasks = ctx.tasks
    names = list(tasks)
    k = len(names)
    b = ctx.labelled.shape[0]
    total = 0.0
    for i in range(b):
        lab = ctx.labelled[i]
        for s in range(k):
            if lab[s]:
                continue
            for t in range(k):
                if not lab[t]:
                    continue
                onehot = official_pair_onehot(s, t, k)
                pred = ctx.preds[1][names[s]][i:i + 1]
                src = tasks[names[s]].encode_pred(pred, 'soft', method='max')
                target = ctx.batch.target(names[t], 1)
                row = (target.index == i).nonzero().item()
                gt = tasks[names[t]].encode_gt(target.data[row:row + 1],
                                               method='max')
                zs = official_map(reg, src, s, onehot)
                zt = official_map(reg, gt, t, onehot)
                f = ctx.feats[1][i:i + 1].detach()

                def cos(a, c):
                    return F.cosine_similarity(a, c, dim=1, eps=1e-12).mean()

                total = total + (1 - cos(zs, zt)) + reg_weight * (
                    (1 - cos(zs, f)) + (1 - cos(zt, f)))
    return total / b


def test_pair_codes_match_official_order():
    k = 3
    s, t = torch.meshgrid(torch.arange(k), torch.arange(k), indexing='ij')
    keep = s != t
    codes = pair_codes(s[keep], t[keep], k)
    for a, c, code in zip(s[keep], t[keep], codes):
        onehot = official_pair_onehot(int(a), int(c), k)
        assert int(onehot.argmax()) == int(code)
    assert codes.tolist() == list(range(6))


@pytest.mark.parametrize('names', [('semseg', 'depth'),
                                   ('semseg', 'depth', 'normal')])
def test_loss_matches_official_loop(names):
    torch.manual_seed(0)
    tasks = make_tasks(names)
    k = len(names)
    labelled = torch.zeros(4, k, dtype=torch.bool)
    labelled[0, 0] = labelled[1, 1] = labelled[2, :] = True
    labelled[3, -1] = True
    reg = build(tasks, pred_encoding='soft', con_weight=2.0)
    # perturb FiLM tables so that the codes matter
    for m in reg.mapping.modules():
        if hasattr(m, 'film_gamma'):
            m.film_gamma.data.uniform_(0.5, 1.5)
            m.film_beta.data.uniform_(-0.2, 0.2)
    ctx = make_ctx(tasks, labelled, num_views=2)
    out = reg(ctx)
    total = out['loss_cross'] + out['loss_feat']
    ref = 2.0 * official_loss(reg, ctx, 0.5)
    assert torch.allclose(total, ref, atol=1e-5), (total, ref)


def test_gradient_flow_and_labels():
    tasks = make_tasks(('semseg', 'depth', 'normal'))
    labelled = [[1, 0, 0], [0, 1, 1], [1, 1, 1]]
    reg = build(tasks)  # gumbel encoding
    ctx = make_ctx(tasks, labelled, num_views=2)
    out = reg(ctx)
    loss = out['loss_cross'] + out['loss_feat']
    names = list(tasks)
    lab = torch.tensor(labelled, dtype=torch.bool)
    grads = grad_of(loss, [ctx.preds[1][n] for n in names])
    for k, (name, g) in enumerate(zip(names, grads)):
        for i in range(3):
            got = g is not None and bool(g[i].abs().sum() > 0)
            # only unlabelled-task predictions receive gradient
            assert got == (not bool(lab[i, k])), (name, i)
    # view 0 predictions are not used
    assert grad_of(loss, [ctx.preds[0][n] for n in names]) == [None] * 3
    # the feature target is detached
    assert grad_of(loss, [ctx.feats[1]]) == [None]
    # the GT branch gives no grad to any prediction but trains the mapping
    items = reg.pair_items(ctx.labelled)
    _, z_t = reg.embed(ctx, items)
    preds = [ctx.preds[v][n] for v in range(2) for n in names]
    assert all(g is None for g in grad_of(z_t.sum(), preds))
    assert any(g is not None for g in grad_of(z_t.sum(),
                                              reg.mapping.parameters()))
    grads = grad_of(loss, [p for p in reg.parameters()])
    assert sum(g is not None for g in grads) > 0


def test_unlabelled_labels_never_read():
    tasks = make_tasks(('semseg', 'depth'))
    reg = build(tasks)
    ctx = make_ctx(tasks, [[1, 0], [0, 1]], num_views=2)
    for view in ctx.batch.targets:  # labelled-only by construction
        for name, target in view.items():
            k = list(tasks).index(name)
            assert bool(ctx.labelled[target.index, k].all())
    out = reg(ctx)
    assert torch.isfinite(out['loss_cross'])


def test_ablations_and_no_pairs():
    tasks = make_tasks(('semseg', 'depth', 'normal'))
    reg = build(tasks, conditional=False, reg_weight=0.0)
    gammas = [m.film_gamma for m in reg.mapping.modules()
              if hasattr(m, 'film_gamma')]
    assert all(g.shape[0] == 1 for g in gammas)
    ctx = make_ctx(tasks, [[1, 0, 0], [0, 1, 0]], num_views=2)
    out = reg(ctx)
    assert float(out['loss_feat']) == 0.0 and float(out['loss_cross']) > 0
    # fully labelled batch: zero loss, still connected to own params
    ctx = make_ctx(tasks, [[1, 1, 1]], num_views=2)
    out = reg(ctx)
    assert float(out['loss_cross']) == 0.0
    names = [n for n, _ in build(tasks).named_parameters()]
    assert any('film' in n for n in names)


def test_feature_projection_and_pooling():
    tasks = make_tasks(('semseg', 'depth'))
    reg = build(tasks, feat_channels=6)
    assert reg.mapping.proj is not None
    ctx = make_ctx(tasks, [[1, 0], [0, 1]], feat_channels=6,
                   feat_size=(8, 8))
    out = reg(ctx)
    assert torch.isfinite(out['loss_feat']) and float(out['loss_feat']) > 0
    bad = build(tasks, feat_channels=None)
    ctx = make_ctx(tasks, [[1, 0]], feat_channels=6)
    with pytest.raises(ValueError, match='feat_channels'):
        bad(ctx)


def official_contrastive(z_s, z_t, items, margin):
    m = items.shape[0]
    out = torch.zeros(m)
    for i in range(m):
        d_pos = 1 - F.cosine_similarity(z_s[i:i + 1], z_t[i:i + 1]).mean()
        terms = []
        for j in range(m):
            if (items[j, 1:] == items[i, 1:]).all() and \
                    items[j, 0] != items[i, 0]:
                d_neg = 1 - F.cosine_similarity(z_s[j:j + 1],
                                                z_t[i:i + 1]).mean()
                terms.append(F.relu(d_pos - d_neg + margin))
        if terms:
            out[i] = torch.stack(terms).mean()
    return out


def test_contrastive_matches_loop():
    tasks = make_tasks(('semseg', 'depth', 'normal'))
    labelled = [[1, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]
    reg = build(tasks, loss_type='contrastive', pred_encoding='soft',
                con_weight=1.0)
    ctx = make_ctx(tasks, labelled)
    items = reg.pair_items(ctx.labelled)
    z_s, z_t = reg.embed(ctx, items)
    per_item = reg.contrastive(z_s, z_t, reg.negative_mask(items))
    ref = official_contrastive(z_s, z_t, items, reg.margin)
    assert torch.allclose(per_item, ref, atol=1e-5)
    out = reg(ctx)
    expected = torch.zeros(4).index_add(0, items[:, 0], ref).sum() / 4
    assert torch.allclose(out['loss_contrastive'], expected, atol=1e-5)


def test_discriminator_alternates():
    tasks = make_tasks(('semseg', 'depth'))
    reg = build(tasks, loss_type='discriminator')
    labelled = [[1, 0], [1, 0], [0, 1], [0, 1]]
    disc = list(reg.discriminator.parameters())
    maps = list(reg.mapping.parameters())
    ctx = make_ctx(tasks, labelled)
    ctx.iter = 0  # discriminator step
    loss = reg(ctx)['loss_discriminator']
    assert all(g is None for g in grad_of(loss, maps))
    assert any(g is not None for g in grad_of(loss, disc))
    assert grad_of(loss, [ctx.preds[1]['depth']]) == [None]
    ctx.iter = 1  # mapping / MTL step
    loss = reg(ctx)['loss_discriminator']
    assert all(g is None for g in grad_of(loss, disc))
    assert any(g is not None for g in grad_of(loss, maps))
    assert grad_of(loss, [ctx.preds[1]['depth']]) != [None]
