# Copyright (c) mtlpartial contributors. All rights reserved.
import math

import numpy as np
import pytest
import torch

from mtlpartial.evaluation.functional import NormalMeter, angle_error_deg


def normals_at(angles_deg):
    """Predictions at the given angles from gt (0, 0, 1), shape (1,3,1,W)."""
    a = torch.tensor(angles_deg, dtype=torch.float64).deg2rad()
    pred = torch.stack([a.sin(), torch.zeros_like(a), a.cos()]).float()
    gt = torch.zeros_like(pred)
    gt[2] = 1
    return pred.view(1, 3, 1, -1), gt.view(1, 3, 1, -1)


def test_hand_computed():
    pred, gt = normals_at([0, 10, 20, 31, 45, 60])
    gt[..., -1] = 0  # last pixel invalid
    meter = NormalMeter()
    meter.update(pred, gt)
    out = meter.compute()
    angles = np.array([0, 10, 20, 31, 45])
    assert out['mean'] == pytest.approx(angles.mean(), abs=1e-4)
    assert out['rmse'] == pytest.approx(np.sqrt((angles**2).mean()),
                                        abs=1e-4)
    assert out['median'] == pytest.approx(20, abs=0.005 + 1e-6)
    assert out['11.25'] == pytest.approx(40.0)
    assert out['22.5'] == pytest.approx(60.0)
    assert out['30'] == pytest.approx(60.0)


def test_median_even_count_over_two_batches():
    meter = NormalMeter()
    for angles in ([0, 10, 20], [31, 45, 90]):
        meter.update(*normals_at(angles))
    # numpy median of the six angles: (20 + 31) / 2
    assert meter.compute()['median'] == pytest.approx(25.5, abs=0.005 + 1e-6)
    coarse = NormalMeter(resolution=1.0)
    coarse.update(*normals_at([0, 10.2, 20.7]))
    assert coarse.compute()['median'] == pytest.approx(10.5)  # bin centre


def test_random_matches_numpy():
    g = torch.Generator().manual_seed(2)
    pred = torch.randn(3, 3, 8, 8, generator=g)
    gt = torch.nn.functional.normalize(torch.randn(3, 3, 8, 8, generator=g),
                                       dim=1)
    gt[0, :, :2] = 0
    meter = NormalMeter()
    meter.update(pred, gt)
    out = meter.compute()
    p = torch.nn.functional.normalize(pred.double(), dim=1).numpy()
    t = gt.double().numpy()
    valid = np.abs(t).sum(1) > 0
    deg = np.degrees(np.arccos(np.clip((p * t).sum(1), -1, 1)))[valid]
    assert out['mean'] == pytest.approx(deg.mean(), abs=1e-4)
    assert out['median'] == pytest.approx(np.median(deg), abs=0.005 + 1e-4)
    assert out['22.5'] == pytest.approx((deg < 22.5).mean() * 100)


def test_angle_details():
    # unnormalised predictions: only the direction matters; tiny angles
    # are resolved; the zero vector gets 90 degrees (acos(0))
    pred, gt = normals_at([0.001, 5, 0])
    pred[..., 1] *= 7
    pred[..., 2] = 0
    deg = angle_error_deg(pred, gt).flatten()
    assert deg[0] == pytest.approx(0.001, rel=1e-2)
    assert deg[1] == pytest.approx(5, abs=1e-4)
    assert deg[2] == 90
    with pytest.raises(ValueError, match='resolution'):
        NormalMeter(resolution=0)
    assert math.isnan(NormalMeter().compute()['median'])
