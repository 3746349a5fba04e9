# Copyright (c) mtlpartial contributors. All rights reserved.
"""Hand-built RegularizerContext objects for regularizer tests."""
from collections import OrderedDict
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from mtlpartial.models.regularizers import RegularizerContext
from mtlpartial.structures import MultiTaskBatch
from mtlpartial.tasks import build_tasks
from mtlpartial.testing import fake_multitask_batch

TASK_CFGS = OrderedDict(
    semseg=dict(type='SemSegTask', num_classes=4),
    depth=dict(type='DepthTask', stats=(2.3618, 1.5876)),
    normal=dict(type='NormalTask'),
    edge=dict(type='BinaryTask'))


def make_tasks(names: Sequence[str]):
    return build_tasks(OrderedDict((n, TASK_CFGS[n]) for n in names))


def random_pred(task, n: int, h: int, w: int, g: torch.Generator):
    """A leaf, activated prediction requiring grad."""
    raw = torch.randn(n, task.num_outputs, h, w, generator=g)
    if task.kind == 'depth':
        raw = raw.abs() * 2 + 0.2
    return task.activate(raw).detach().requires_grad_(True)


def task_loss_fn(tasks, batch: MultiTaskBatch):
    """``normalize='image'`` task loss of the model (B-normalised)."""
    b = batch.batch_size

    def task_loss(name, pred, view):
        target = batch.target(name, view)
        if target is None:
            return pred.new_zeros(())
        per = tasks[name].loss(pred[target.index], target.data)
        weights = 1.0 / batch.labelled[target.index].sum(1).to(per)
        return tasks[name].loss_weight * (per * weights).sum() / b

    return task_loss


def make_ctx(tasks,
             labelled,
             num_views: int = 2,
             h: int = 16,
             w: int = 16,
             feat_channels: int = 16,
             feat_size=(4, 4),
             seed: int = 0,
             boxes=None,
             flips=None,
             preds: Optional[list] = None,
             head_inputs=None,
             align_corners: bool = True) -> RegularizerContext:
    g = torch.Generator().manual_seed(seed)
    labelled = torch.as_tensor(labelled, dtype=torch.bool)
    b = labelled.shape[0]
    batch = fake_multitask_batch(tasks, labelled, num_views, (h, w), g, boxes,
                                 flips)
    if preds is None:
        preds = [{
            name: random_pred(task, b, h, w, g)
            for name, task in tasks.items()
        } for _ in range(num_views)]
    feats = [
        torch.randn(b, feat_channels, *feat_size,
                    generator=g).requires_grad_(True)
        for _ in range(num_views)
    ]
    if head_inputs is None:
        head_inputs = [(f, ) for f in feats]

    def head_forward(name, head, x):
        out = head(x)
        out = F.interpolate(out, size=(h, w), mode='bilinear',
                            align_corners=align_corners)
        return tasks[name].activate(out)

    return RegularizerContext(
        tasks=tasks,
        batch=batch,
        preds=preds,
        feats=feats,
        head_inputs=head_inputs,
        task_loss=task_loss_fn(tasks, batch),
        sample_mean=lambda v: v.sum() / b,
        iter=0,
        head_forward=head_forward)


def grad_of(loss, tensors):
    """Gradients of ``loss`` w.r.t. ``tensors`` (None where unused)."""
    tensors = list(tensors)
    grads = torch.autograd.grad(loss, tensors, retain_graph=True,
                                allow_unused=True)
    return [None if gr is None or gr.abs().sum() == 0 else gr
            for gr in grads]
