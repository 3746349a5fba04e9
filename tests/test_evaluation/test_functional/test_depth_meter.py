# Copyright (c) mtlpartial contributors. All rights reserved.
import math

import numpy as np
import pytest
import torch

from mtlpartial.evaluation.functional import DepthMeter


def batch(values):
    return torch.tensor(values, dtype=torch.float32).view(1, 1, 2, 2)


PRED = batch([1.0, 2.0, 3.0, -1.0])
GT = batch([2.0, 2.0, 0.0, 1.0])  # third pixel invalid


def test_hand_computed():
    meter = DepthMeter()
    meter.update(PRED, GT)
    out = meter.compute()
    # valid errors: |1-2| = 1, 0, |-1-1| = 2
    assert out['abs_err'] == pytest.approx(1.0)
    assert out['abs_rel'] == pytest.approx((0.5 + 0 + 2) / 3)
    assert out['rmse'] == pytest.approx(math.sqrt(5 / 3))
    # logs and ratios use max(pred, 1e-9)
    log_sq = math.log(2) ** 2 + 0 + (math.log(1) - math.log(1e-9)) ** 2
    assert out['log_rmse'] == pytest.approx(math.sqrt(log_sq / 3))
    assert out['delta1'] == pytest.approx(100 / 3)  # only the exact pixel
    assert out['delta3'] == pytest.approx(100 / 3)  # ratio 2 > 1.25**3


def test_official_clamp_option():
    meter = DepthMeter(clamp_pred=1e-9)
    meter.update(PRED, GT)
    out = meter.compute()
    # MTPSL/JTR clamp the prediction before the L1 error: |1e-9 - 1| ~ 1
    assert out['abs_err'] == pytest.approx(2 / 3)
    assert out['rmse'] == pytest.approx(math.sqrt(2 / 3))


def test_pixel_pooled_not_image_averaged():
    # image 1: one valid pixel with error 4; image 2: three with error 0
    pred = torch.tensor([4.0, 0, 0, 0, 1, 1, 1, 5]).view(2, 1, 2, 2)
    gt = torch.tensor([8.0, 0, 0, 0, 1, 1, 1, 0]).view(2, 1, 2, 2)
    meter = DepthMeter()
    meter.update(pred[:1], gt[:1])
    meter.update(pred[1:], gt[1:])
    # pooled: 4 / 4 pixels = 1 (a mean of image means would give 2)
    assert meter.compute()['abs_err'] == pytest.approx(1.0)
    assert meter.compute()['rmse'] == pytest.approx(math.sqrt(16 / 4))


def test_random_matches_numpy():
    g = torch.Generator().manual_seed(1)
    gt = torch.rand(4, 1, 6, 5, generator=g) * 5
    gt[gt < 1] = 0
    pred = torch.rand(4, 1, 6, 5, generator=g) * 5 + 0.1
    meter = DepthMeter()
    meter.update(pred, gt)
    out = meter.compute()
    p, t = pred.numpy().ravel(), gt.numpy().ravel()
    m = t > 0
    p, t = p[m].astype(np.float64), t[m].astype(np.float64)
    assert out['abs_err'] == pytest.approx(np.abs(p - t).mean())
    assert out['abs_rel'] == pytest.approx((np.abs(p - t) / t).mean())
    assert out['rmse'] == pytest.approx(np.sqrt(((p - t)**2).mean()))
    assert out['log_rmse'] == pytest.approx(
        np.sqrt(((np.log(t) - np.log(p))**2).mean()))
    ratio = np.maximum(p / t, t / p)
    assert out['delta2'] == pytest.approx((ratio < 1.25**2).mean() * 100)


def test_empty_and_bad_input():
    out = DepthMeter().compute()
    assert all(math.isnan(v) for v in out.values())
    with pytest.raises(ValueError, match='NaN or Inf'):
        DepthMeter().update(batch([float('nan'), 1, 1, 1]), GT)
    with pytest.raises(ValueError, match='differ'):
        DepthMeter().update(PRED, torch.zeros(1, 1, 3, 2))
