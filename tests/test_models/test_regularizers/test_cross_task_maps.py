# Copyright (c) mtlpartial contributors. All rights reserved.
import torch

from mtlpartial.models.regularizers import DirectMap, PerceptualMap
from mtlpartial.tasks import masked_mean_per_sample
from .reg_helpers import grad_of, make_ctx, make_tasks

NAMES = ('semseg', 'depth', 'normal')
LABELLED = [[1, 0, 0], [0, 1, 1], [1, 1, 1], [0, 0, 1]]
SMALL = dict(channels=(4, 8), norm='instance')


def build(cls, tasks, **kwargs):
    reg = cls(**SMALL, **kwargs)
    reg.setup(tasks, {})
    return reg


def gt_of(ctx, name, i):
    target = ctx.batch.target(name, 0)
    row = (target.index == i).nonzero().item()
    return target.data[row:row + 1]


def test_direct_map_matches_loop_and_grads():
    tasks = make_tasks(NAMES)
    reg = build(DirectMap, tasks)
    assert len(reg.maps) == 6
    ctx = make_ctx(tasks, LABELLED, num_views=1)
    loss = reg(ctx)['loss_direct']
    names = list(tasks)
    ref = 0.0
    for i, lab in enumerate(LABELLED):
        for s in range(3):
            for t in range(3):
                if lab[s] or not lab[t]:
                    continue
                x = tasks[names[s]].encode_pred(
                    ctx.preds[0][names[s]][i:i + 1], 'soft')
                out = tasks[names[t]].activate(
                    reg.maps[f'{names[s]}_to_{names[t]}'](x))
                ref = ref + tasks[names[t]].loss(out, gt_of(ctx, names[t],
                                                            i)).sum()
    assert torch.allclose(loss, ref / 4, atol=1e-5)
    lab = torch.tensor(LABELLED, dtype=torch.bool)
    for k, name in enumerate(names):
        (g, ) = grad_of(loss, [ctx.preds[0][name]])
        for i in range(4):
            got = g is not None and bool(g[i].abs().sum() > 0)
            has_target = bool(lab[i].any()) and not bool(lab[i].all())
            assert got == (not bool(lab[i, k]) and has_target), (name, i)


def test_perceptual_map_terms_and_grads():
    tasks = make_tasks(NAMES)
    reg = build(PerceptualMap, tasks)
    ctx = make_ctx(tasks, LABELLED, num_views=1)
    out = reg(ctx)
    names = list(tasks)
    maps = list(reg.maps.parameters())
    preds = [ctx.preds[0][n] for n in names]
    # the fitting term trains the mappings only
    assert all(g is None for g in grad_of(out['loss_fit'], preds))
    assert any(g is not None for g in grad_of(out['loss_fit'], maps))
    # the perceptual term trains labelled predictions only, maps frozen
    assert all(g is None for g in grad_of(out['loss_perceptual'], maps))
    lab = torch.tensor(LABELLED, dtype=torch.bool)
    grads = grad_of(out['loss_perceptual'], preds)
    for k, (name, g) in enumerate(zip(names, grads)):
        for i in range(4):
            got = g is not None and bool(g[i].abs().sum() > 0)
            assert got == bool(lab[i, k]), (name, i)
    # looped reference of the perceptual term
    ref = 0.0
    for i, lab_i in enumerate(LABELLED):
        for s in range(3):
            if not lab_i[s]:
                continue
            ts = tasks[names[s]]
            gt = gt_of(ctx, names[s], i)
            for t in range(3):
                if s == t:
                    continue
                tt = tasks[names[t]]
                net = reg.maps[f'{names[s]}_to_{names[t]}']
                a = tt.encode_pred(tt.activate(net(ts.encode_pred(
                    ctx.preds[0][names[s]][i:i + 1], 'soft'))), 'soft')
                b = tt.encode_pred(tt.activate(net(ts.encode_gt(gt))),
                                   'soft')
                diff = (a - b).abs().mean(1, keepdim=True)
                ref = ref + masked_mean_per_sample(diff, ts.valid_mask(gt))
    assert torch.allclose(out['loss_perceptual'], ref.sum() / 4, atol=1e-5)
