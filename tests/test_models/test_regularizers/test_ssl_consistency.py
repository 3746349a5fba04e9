# Copyright (c) mtlpartial contributors. All rights reserved.
import torch

from mtlpartial.models.regularizers import SSLConsistency
from .reg_helpers import grad_of, make_ctx, make_tasks


def crop_view(ctx, tasks, flips):
    """View 1 = exact pixel crop [4:12, 4:12] of view 0 (zoom 2), flipped
    where asked, with the spec's value changes (depth /2, normal x sign)."""
    view1 = {}
    for name, task in tasks.items():
        p = ctx.preds[0][name].detach()[:, :, 4:12, 4:12].clone()
        p = torch.where(flips[:, None, None, None], p.flip(-1), p)
        if task.kind == 'normal':
            p[:, 0] = torch.where(flips[:, None, None], -p[:, 0], p[:, 0])
        if task.kind == 'depth':
            p = p / 2
        view1[name] = p.requires_grad_(True)
    return view1


def looped_reference(ctx, tasks, flips):
    b = ctx.labelled.shape[0]
    total = 0.0
    for i in range(b):
        unlab = [k for k in range(len(tasks)) if not ctx.labelled[i, k]]
        per = 0.0
        for k in unlab:
            name = list(tasks)[k]
            task = tasks[name]
            p0 = ctx.preds[0][name][i:i + 1, :, 4:12, 4:12]
            if flips[i]:
                p0 = p0.flip(-1)
                if task.kind == 'normal':
                    p0 = p0 * torch.tensor([-1., 1, 1]).view(1, 3, 1, 1)
            if task.kind == 'depth':
                p0 = p0 / 2
            a = task.encode_pred(p0, 'soft')
            c = task.encode_pred(ctx.preds[1][name][i:i + 1], 'soft')
            per = per + (a - c).pow(2).mean()
        total = total + per / max(1, len(unlab))
    return total / b


def make(flips, labelled):
    tasks = make_tasks(('semseg', 'depth', 'normal'))
    b = len(labelled)
    boxes = torch.tensor([[0., 0., 1., 1.], [.25, .25, .75, .75]])
    boxes = boxes[None].repeat(b, 1, 1)
    fl = torch.stack([torch.zeros(b, dtype=torch.bool), flips], 1)
    ctx = make_ctx(tasks, labelled, boxes=boxes, flips=fl)
    return tasks, ctx


def test_consistent_views_give_zero_loss():
    flips = torch.tensor([False, True, True])
    tasks, ctx = make(flips, [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    ctx.preds[1] = crop_view(ctx, tasks, flips)
    loss = SSLConsistency()(ctx)['loss_ssl']
    assert float(loss) < 1e-10
    # an inconsistent view is penalised
    ctx.preds[1]['depth'] = ctx.preds[1]['depth'] * 1.5
    assert float(SSLConsistency()(ctx)['loss_ssl']) > 1e-4


def test_matches_loop_and_grad_flow():
    flips = torch.tensor([False, True, False, True])
    labelled = [[1, 0, 0], [0, 1, 1], [1, 1, 1], [0, 1, 0]]
    tasks, ctx = make(flips, labelled)
    g = torch.Generator().manual_seed(1)
    view1 = crop_view(ctx, tasks, flips)
    for name, task in tasks.items():
        p = view1[name].detach()
        p = p + 0.3 * torch.randn(p.shape, generator=g)
        if task.kind == 'normal':
            p = torch.nn.functional.normalize(p, dim=1)
        view1[name] = p.abs().requires_grad_(True) if task.kind == 'depth' \
            else p.requires_grad_(True)
    ctx.preds[1] = view1
    loss = SSLConsistency(loss_weight=3.0)(ctx)['loss_ssl']
    ref = 3.0 * looped_reference(ctx, tasks, flips)
    assert torch.allclose(loss, ref, atol=1e-6), (loss, ref)
    lab = torch.tensor(labelled, dtype=torch.bool)
    for k, name in enumerate(tasks):
        for v in range(2):
            (g, ) = grad_of(loss, [ctx.preds[v][name]])
            for i in range(4):
                got = g is not None and bool(g[i].abs().sum() > 0)
                assert got == (not bool(lab[i, k])), (name, v, i)
    detached = SSLConsistency(detach_target=True)(ctx)['loss_ssl']
    assert grad_of(detached, [ctx.preds[0][n] for n in tasks]) == [None] * 3
