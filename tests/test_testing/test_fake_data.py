# Copyright (c) mtlpartial contributors. All rights reserved.
"""The fake-data builders shared by the tests and the analysis tools."""
import pytest
import torch

from mtlpartial.tasks import build_tasks
from mtlpartial.testing import (fake_multitask_batch, fake_packed_batch,
                                label_pattern, random_gt)

TASKS = build_tasks([
    dict(name='semseg', type='SemSegTask', num_classes=3),
    dict(name='depth', type='DepthTask'),
    dict(name='normal', type='NormalTask'),
    dict(name='edge', type='BinaryTask'),
])


@pytest.mark.parametrize('invalid', [False, True])
def test_random_gt_follows_the_conventions(invalid):
    g = torch.Generator().manual_seed(0)
    for task in TASKS.values():
        gt = random_gt(task, 2, (5, 6), g, invalid=invalid)
        assert gt.shape == (2, task.gt_channels, 5, 6)
        valid = task.valid_mask(gt)
        assert int((~valid).flatten(1).sum(1).max()) == int(invalid)
        for image in gt:  # what a dataset would accept
            task.validate_gt(image.permute(1, 2, 0).numpy(), 'gt')
    with pytest.raises(ValueError, match='no random ground truth'):
        random_gt(type('Odd', (), dict(kind='odd', name='x'))(), 1, (2, 2))


def test_label_patterns():
    assert label_pattern(('a', 'b'), 3) == [('a', ), ('b', ), ('a', )]
    assert label_pattern(('a', 'b'), 2, 'full') == [('a', 'b')] * 2
    with pytest.raises(ValueError, match="'onelabel' or 'full'"):
        label_pattern(('a', ), 1, 'half')


def test_packed_batch_holds_only_labelled_ground_truth():
    g = torch.Generator().manual_seed(1)
    data = fake_packed_batch(TASKS, label_pattern(TASKS, 4), num_views=2,
                             size=(8, 10), generator=g)
    assert [x.shape for x in data['inputs']] == [(2, 3, 8, 10)] * 4
    for i, sample in enumerate(data['data_samples']):
        assert sample.labelled_tasks == (list(TASKS)[i], )
        assert sample.get_gt(list(TASKS)[i]).shape[:2] == (
            2, TASKS[list(TASKS)[i]].gt_channels)
    # configs are accepted too, and the stream is reproducible
    again = fake_packed_batch(
        [dict(name='semseg', type='SemSegTask', num_classes=3),
         dict(name='depth', type='DepthTask'),
         dict(name='normal', type='NormalTask'),
         dict(name='edge', type='BinaryTask')], label_pattern(TASKS, 4), 2,
        (8, 10), torch.Generator().manual_seed(1))
    assert torch.equal(again['inputs'][3], data['inputs'][3])


def test_multitask_batch_targets_are_labelled_only():
    labelled = torch.tensor([[1, 0, 0, 1], [0, 1, 1, 0]], dtype=torch.bool)
    batch = fake_multitask_batch(TASKS, labelled, 2, (4, 4),
                                 torch.Generator().manual_seed(0))
    assert batch.num_views == 2
    assert batch.target('edge', 1).index.tolist() == [0]
    assert batch.target('depth', 0).data.shape == (1, 1, 4, 4)
