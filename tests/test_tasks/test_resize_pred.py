# Copyright (c) mtlpartial contributors. All rights reserved.
"""BaseTask.resize_pred: how inference restores the input resolution."""
import torch
import torch.nn.functional as F

from mtlpartial.tasks import build_tasks

TASKS = build_tasks([
    dict(name='semseg', type='SemSegTask', num_classes=4),
    dict(name='depth', type='DepthTask'),
    dict(name='normal', type='NormalTask'),
    dict(name='edge', type='BinaryTask'),
])


def test_logits_and_values_are_resized_bilinearly():
    g = torch.Generator().manual_seed(0)
    for name in ('semseg', 'depth', 'edge'):
        task = TASKS[name]
        pred = torch.randn(2, task.num_outputs, 8, 10, generator=g)
        out = task.resize_pred(pred, (13, 17), align_corners=True)
        assert torch.equal(out, F.interpolate(
            pred, (13, 17), mode='bilinear', align_corners=True))
    # logits are resized before the class decision: a class can win at
    # an in-between pixel that no nearest neighbour would give it
    logits = torch.tensor([[[[4., 0.]], [[0., 4.]], [[2.5, 2.5]]]])
    seg = build_tasks([dict(name='s', type='SemSegTask', num_classes=3)])
    resized = seg['s'].resize_pred(logits, (1, 3), align_corners=True)
    assert seg['s'].to_prediction(resized).flatten().tolist() == [0, 2, 1]


def test_normals_stay_unit_vectors():
    task = TASKS['normal']
    pred = task.activate(torch.randn(1, 3, 6, 7,
                                     generator=torch.Generator()))
    out = task.resize_pred(pred, (11, 9))
    assert out.shape == (1, 3, 11, 9)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(1, 11, 9))
