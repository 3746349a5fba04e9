# Copyright (c) mtlpartial contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mtlpartial.evaluation.functional import SaliencyMeter

# last pixel is ignored although predicted with high confidence
PRED = torch.tensor([0.9, 0.6, 0.3, 0.1, 0.95]).view(1, 1, 1, 5)
GT = torch.tensor([1.0, 0, 1, 0, 255]).view(1, 1, 1, 5)


def test_hand_computed_f1():
    meter = SaliencyMeter(thresholds=(0.2, 0.5, 0.8), beta_squared=1.0)
    meter.update(PRED, GT)
    # t=0.2: P=2/3 R=1 F=0.8; t=0.5: P=R=1/2 F=0.5; t=0.8: P=1 R=1/2 F=2/3
    out = meter.compute()
    assert out['maxF'] == pytest.approx(80.0)
    assert out['IoU'] == pytest.approx(100 / 3)  # at 0.5: 1 / (2 + 2 - 1)
    assert out['maxIoU'] == pytest.approx(200 / 3)  # at 0.2: 2 / 3


def test_hand_computed_beta_squared_03():
    meter = SaliencyMeter(thresholds=(0.2, 0.5, 0.8))
    meter.update(PRED, GT)
    # t=0.2: 1.3*(2/3)/(0.2+1) = 0.7222; t=0.8: 1.3*0.5/(0.3+0.5) = 0.8125
    assert meter.compute()['maxF'] == pytest.approx(81.25)


def vandenhende_image_average(pred, gt, thresholds):
    """numpy port of eval_sal (Multi-Task-Learning-PyTorch), with >=."""
    f_all, iou_all = [], []
    precs, recs, ious = [], [], []
    for p, g in zip(pred, gt):
        g = g.astype(bool)
        row_p, row_r, row_i = [], [], []
        for t in thresholds:
            m = p >= t
            tp = (m & g).sum()
            row_p.append(tp / (m.sum() + 1e-12))
            row_r.append(tp / (g.sum() + 1e-12))
            union = (m | g).sum()
            row_i.append(1.0 if union == 0 else tp / union)
        precs.append(row_p)
        recs.append(row_r)
        ious.append(row_i)
    mp, mr = np.mean(precs, 0), np.mean(recs, 0)
    f_all = 2 * mp * mr / (mp + mr + 1e-12)
    iou_all = np.mean(ious, 0)
    return f_all.max() * 100, iou_all.max() * 100


def test_image_average_matches_reference():
    g = torch.Generator().manual_seed(3)
    pred = torch.rand(4, 1, 6, 6, generator=g)
    gt = (torch.rand(4, 1, 6, 6, generator=g) > 0.6).float()
    gt[3] = 0  # an image without salient pixels
    thresholds = np.linspace(0.2, 0.9, 15)
    meter = SaliencyMeter(thresholds=thresholds, beta_squared=1.0,
                          average='image')
    meter.update(pred[:3], gt[:3])
    meter.update(pred[3:], gt[3:])
    max_f, max_iou = vandenhende_image_average(
        pred[:, 0].numpy(), gt[:, 0].numpy(), thresholds)
    out = meter.compute()
    assert out['maxF'] == pytest.approx(max_f, abs=1e-6)
    assert out['maxIoU'] == pytest.approx(max_iou, abs=1e-6)


def test_dataset_pooling_accumulates():
    g = torch.Generator().manual_seed(4)
    pred = torch.rand(5, 1, 4, 4, generator=g)
    gt = (torch.rand(5, 1, 4, 4, generator=g) > 0.5).float()
    one, two = SaliencyMeter(), SaliencyMeter()
    one.update(pred, gt)
    two.update(pred[:2], gt[:2])
    two.update(pred[2:], gt[2:])
    assert one.compute() == two.compute()
    # pooled maxF by brute force over the default thresholds
    p, t = pred.numpy().ravel(), gt.numpy().ravel().astype(bool)
    best = 0.0
    for thr in np.arange(1, 20) * 0.05:
        m = p >= np.float32(round(thr, 2))
        prec, rec = (m & t).sum() / max(m.sum(), 1), (m & t).sum() / t.sum()
        if prec + rec > 0:
            best = max(best, 1.3 * prec * rec / (0.3 * prec + rec))
    assert one.compute()['maxF'] == pytest.approx(best * 100)


def test_bad_inputs():
    meter = SaliencyMeter()
    with pytest.raises(ValueError, match='probabilities'):
        meter.update(PRED * 3, GT)
    with pytest.raises(ValueError, match='0, 1 or 255'):
        meter.update(PRED, GT * 2)
    with pytest.raises(ValueError, match="'dataset' or 'image'"):
        SaliencyMeter(average='pixel')
    with pytest.raises(ValueError, match='must lie in'):
        SaliencyMeter(thresholds=(0.5, 1.5))
