# Copyright (c) mtlpartial contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from mtlpartial.tasks import build_tasks


def semseg(**kwargs):
    return build_tasks([dict(name='seg', type='SemSegTask', num_classes=3,
                             **kwargs)])['seg']


def test_class_weight_is_torch_weighted_mean_per_sample():
    task = semseg(class_weight=[1.0, 2.0, 3.0])
    torch.manual_seed(0)
    pred = torch.randn(2, 3, 4, 5)
    gt = torch.randint(0, 3, (2, 1, 4, 5))
    gt[0, 0, 0, :3] = 255
    ref = torch.stack([
        F.cross_entropy(pred[i:i + 1], gt[i:i + 1, 0],
                        weight=torch.tensor([1.0, 2.0, 3.0]),
                        ignore_index=255) for i in range(2)
    ])
    assert torch.allclose(task.loss(pred, gt), ref)
    plain = semseg().loss(pred, gt)
    assert not torch.allclose(plain, ref)


@pytest.mark.parametrize('bad', [[1.0, 2.0], [1.0, 0.0, 1.0],
                                 [1.0, float('nan'), 1.0]])
def test_class_weight_checked(bad):
    with pytest.raises(ValueError, match='class_weight'):
        semseg(class_weight=bad)
