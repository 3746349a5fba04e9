# Copyright (c) mtlpartial contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mtlpartial.evaluation.functional import SemSegMeter


def as_batch(rows):
    return torch.tensor(rows).view(1, 1, len(rows), len(rows[0]))


def test_hand_computed_with_ignore_and_absent_class():
    # class 2 appears in neither gt nor prediction: excluded from the mean
    gt = as_batch([[0, 0, 1], [1, 255, 0]])
    pred = as_batch([[0, 1, 1], [1, 0, 0]])
    meter = SemSegMeter(num_classes=3, ignore_index=255)
    meter.update(pred, gt)
    # rows = gt, cols = pred; the ignored pixel (pred 0) is skipped
    assert meter.state['confusion'].tolist() == [[2, 1, 0], [0, 2, 0],
                                                 [0, 0, 0]]
    out = meter.compute()
    assert out['mIoU'] == pytest.approx(200 / 3)  # (2/3 + 2/3) / 2
    assert out['pixel_acc'] == pytest.approx(80.0)  # 4 / 5
    assert out['mAcc'] == pytest.approx((2 / 3 + 1) / 2 * 100)
    iou = meter.iou_per_class()
    assert iou[:2] == pytest.approx([200 / 3, 200 / 3])
    assert np.isnan(iou[2])


def test_class_predicted_but_absent_from_gt_counts_as_zero():
    gt = as_batch([[0, 0, 1, 1]])
    pred = as_batch([[0, 2, 1, 1]])
    meter = SemSegMeter(num_classes=3)
    meter.update(pred, gt)
    out = meter.compute()
    # IoU: class 0 = 1/2, class 1 = 1, class 2 = 0 (union 1)
    assert out['mIoU'] == pytest.approx((0.5 + 1 + 0) / 3 * 100)
    # mAcc only over classes present in the gt
    assert out['mAcc'] == pytest.approx((0.5 + 1) / 2 * 100)


def test_matches_numpy_and_accumulates():
    g = torch.Generator().manual_seed(0)
    c = 5
    gt = torch.randint(0, c, (6, 1, 7, 9), generator=g)
    gt[torch.rand(gt.shape, generator=g) < 0.2] = 255
    pred = torch.randint(0, c, (6, 1, 7, 9), generator=g)
    one = SemSegMeter(c)
    one.update(pred, gt)
    two = SemSegMeter(c)
    two.update(pred[:2], gt[:2])
    two.update(pred[2:], gt[2:])
    assert torch.equal(one.state['confusion'], two.state['confusion'])
    g_np, p_np = gt.numpy().ravel(), pred.numpy().ravel()
    keep = g_np != 255
    cm = np.zeros((c, c), np.int64)
    np.add.at(cm, (g_np[keep], p_np[keep]), 1)
    iou = np.diag(cm) / (cm.sum(0) + cm.sum(1) - np.diag(cm))
    assert one.compute()['mIoU'] == pytest.approx(iou.mean() * 100)
    # per-sample statistics sum to the batch statistics
    stats = SemSegMeter(c).sample_stats(pred, gt)['confusion']
    assert stats.shape == (6, c, c)
    assert torch.equal(stats.sum(0), one.state['confusion'])


def test_merge_and_empty():
    meter = SemSegMeter(3)
    assert np.isnan(meter.compute()['mIoU'])
    a, b = SemSegMeter(3), SemSegMeter(3)
    a.update(as_batch([[0, 1]]), as_batch([[0, 1]]))
    b.update(as_batch([[2, 2]]), as_batch([[2, 1]]))
    a.merge(b.state_dict())
    both = SemSegMeter(3)
    both.update(as_batch([[0, 1, 2, 2]]), as_batch([[0, 1, 2, 1]]))
    assert a.compute() == both.compute()
    with pytest.raises(ValueError, match='shape'):
        a.merge(SemSegMeter(4))


def test_bad_inputs():
    meter = SemSegMeter(3)
    with pytest.raises(ValueError, match=r'outside \[0, 2\]'):
        meter.update(as_batch([[0]]), as_batch([[7]]))
    with pytest.raises(ValueError, match='predicted class ids'):
        meter.update(as_batch([[3]]), as_batch([[0]]))
    with pytest.raises(ValueError, match=r'\(N, 1, H, W\)'):
        meter.update(torch.zeros(1, 3, 2, 2), torch.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match='integer class ids'):
        meter.update(torch.full((1, 1, 2, 2), 0.5), torch.zeros(1, 1, 2, 2))
