# Copyright (c) mtlpartial contributors. All rights reserved.
import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from mtlpartial.evaluation.functional import EdgeMeter, disk_max_filter

# tolerance of exactly one pixel on a 10 x 10 image (4-neighbourhood)
ONE_PIXEL = 1.0 / math.hypot(10, 10)


def tiny_maps():
    gt = torch.zeros(2, 1, 10, 10)
    gt[:, :, :, 4] = 1  # a vertical ground-truth edge in both images
    pred = torch.zeros(2, 1, 10, 10)
    pred[0, 0, :5, 5] = 0.8  # next to the upper half of the edge
    pred[0, 0, :, 8] = 0.4  # a false edge 4 pixels away
    pred[1, 0, :, 4] = 0.4  # exactly on the edge, weak
    return pred, gt


def test_ods_ois_hand_computed():
    pred, gt = tiny_maps()
    meter = EdgeMeter(thresholds=(0.3, 0.6, 0.9), max_dist=ONE_PIXEL)
    meter.update(pred, gt)
    s = meter.state
    # t=0.3: predicted 15 + 10, matched 5 + 10; gt 20, recalled 5 + 10
    # t=0.6: predicted 5, matched 5, recalled 5 (row 5 is only diagonal
    # to the prediction at (4, 5): distance sqrt(2) > 1)
    assert s['sum_p'].tolist() == [25, 5, 0]
    assert s['cnt_p'].tolist() == [15, 5, 0]
    assert s['cnt_r'].tolist() == [15, 5, 0]
    assert int(s['sum_r']) == 20
    out = meter.compute()
    # ODS: t=0.3: P=0.6 R=0.75 F=2/3; t=0.6: P=1 R=0.25 F=0.4
    assert out['odsF'] == pytest.approx(200 / 3)
    # OIS: image 1 at t=0.6 (F 2/3 vs 0.4 at 0.3), image 2 at t=0.3 (F 1)
    # pooled: P = 15/15, R = 15/20 -> F = 6/7
    assert s['ois'].tolist() == [15, 20, 15, 15]
    assert out['oisF'] == pytest.approx(600 / 7)


def brute_force_counts(pred, gt, thresholds, radius):
    """Counts with scipy's exact Euclidean distance transform."""
    cnt_p, sum_p, cnt_r = [], [], []
    pos = gt == 1
    dist_gt = np.stack([ndimage.distance_transform_edt(~g) for g in pos])
    for t in thresholds:
        m = pred >= t
        dist_pred = np.stack(
            [ndimage.distance_transform_edt(~x) if x.any() else
             np.full(x.shape, np.inf) for x in m])
        sum_p.append(m.sum())
        cnt_p.append((m & (dist_gt <= radius)).sum())
        cnt_r.append((pos & (dist_pred <= radius)).sum())
    return cnt_p, sum_p, cnt_r


def test_matches_distance_transform():
    g = torch.Generator().manual_seed(5)
    pred = torch.rand(3, 1, 40, 30, generator=g)
    gt = (torch.rand(3, 1, 40, 30, generator=g) > 0.97).float()
    thresholds = (0.5, 0.9, 0.99)
    meter = EdgeMeter(thresholds=thresholds)
    meter.update(pred[:1], gt[:1])
    meter.update(pred[1:], gt[1:])
    radius = 0.0075 * math.hypot(40, 30)
    cnt_p, sum_p, cnt_r = brute_force_counts(
        pred[:, 0].numpy(), gt[:, 0].numpy(), np.float32(thresholds), radius)
    assert meter.state['cnt_p'].tolist() == cnt_p
    assert meter.state['sum_p'].tolist() == sum_p
    assert meter.state['cnt_r'].tolist() == cnt_r
    assert int(meter.state['sum_r']) == int(gt.sum())


def test_disk_filter_and_ignore():
    x = torch.zeros(1, 1, 7, 7)
    x[0, 0, 3, 3] = 1
    disk = disk_max_filter(x, 2.0)[0, 0]
    yy, xx = np.mgrid[:7, :7]
    expected = ((yy - 3)**2 + (xx - 3)**2 <= 4).astype(np.float32)
    assert np.array_equal(disk.numpy(), expected)
    # an ignored pixel neither counts as a prediction nor recalls gt
    pred = torch.zeros(1, 1, 4, 4)
    pred[0, 0, 0, 0] = 0.9
    gt = torch.zeros(1, 1, 4, 4)
    gt[0, 0, 0, 1] = 1
    gt[0, 0, 0, 0] = 255
    meter = EdgeMeter(thresholds=(0.5, ), max_dist=0.5)
    meter.update(pred, gt)
    assert meter.state['sum_p'].tolist() == [0]
    assert meter.state['cnt_r'].tolist() == [0]
    assert meter.compute()['odsF'] == 0.0
