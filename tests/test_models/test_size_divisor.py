# Copyright (c) mtlpartial contributors. All rights reserved.
"""``size_divisor``: padded inputs, invalid padded labels, predictions
cropped back; and a clear error when the backbone's stride does not
divide the input."""
import pytest
import torch
from mmengine.registry import init_default_scope

from mtlpartial.evaluation import MultiTaskMetric
from mtlpartial.registry import MODELS
from tests.utils.demo_inputs import DEMO_TASKS, make_packed_batch

init_default_scope('mtlpartial')
H, W = 40, 56  # neither divisible by 32
LABELLED = [('semseg', ), ('depth', 'normal'), ('normal', 'semseg')]


def build_model(size_divisor=None):
    torch.manual_seed(0)
    preprocessor = dict(type='MultiTaskDataPreprocessor',
                        size_divisor=size_divisor)
    model = MODELS.build(
        dict(type='MultiTaskModel', tasks=DEMO_TASKS,
             data_preprocessor=preprocessor,
             backbone=dict(type='MTANSegNet', filters=(8, 8, 16, 16, 16)),
             heads=dict(type='ConvHead', in_channels=8)))
    model.init_weights()
    return model


def test_stride_mismatch_is_an_error():
    model = build_model()
    data = make_packed_batch(LABELLED, h=H, w=W)
    batch = model.data_preprocessor(data, True)
    with pytest.raises(ValueError, match='size_divisor=32'):
        model(**batch, mode='loss')
    with pytest.raises(ValueError, match='not divisible by the total'):
        model.test_step(data)


def test_padding_of_inputs_and_labels():
    model = build_model(size_divisor=32)
    data = make_packed_batch(LABELLED, h=H, w=W)
    out = model.data_preprocessor(data, True)
    x, batch = out['inputs'], out['data_samples']
    assert x.shape[-2:] == (64, 64)
    assert torch.all(x[..., H:, :] == 0) and torch.all(x[..., :, W:] == 0)
    for task, spec in model.tasks.items():
        target = batch.target(task, 0)
        assert target.data.shape[-2:] == (64, 64)
        assert target.data.dtype == data['data_samples'][
            int(target.index[0])].get_gt(task).dtype
        valid = spec.valid_mask(target.data)
        assert not valid[..., H:, :].any() and not valid[..., :, W:].any()
        assert valid[..., :H, :W].all()
    assert batch[0].metainfo['img_shape'] == (H, W)
    assert batch[0].metainfo['pad_shape'] == (64, 64)
    region = batch.valid_region()
    assert region.shape == (1, 1, 64, 64)
    assert region[..., :H, :W].all() and region.sum() == H * W


def test_padding_never_enters_a_loss():
    model = build_model(size_divisor=32)
    data = make_packed_batch(LABELLED, h=H, w=W)
    batch = model.data_preprocessor(data, True)
    losses = model(**batch, mode='loss')
    preds = model(batch['inputs'], mode='tensor')
    b = len(LABELLED)
    for task, spec in model.tasks.items():
        # reference: the image region of the prediction against the
        # unpadded ground truth
        total = 0.0
        for i, names in enumerate(LABELLED):
            if task in names:
                gt = data['data_samples'][i].get_gt(task)[:1]
                pred = preds[task][i:i + 1, :, :H, :W]
                total = total + spec.loss(pred, gt)[0] / len(names)
        assert torch.allclose(losses[f'loss_{task}'], total / b,
                              atol=1e-6), task


def test_padding_never_enters_a_metric():
    model = build_model(size_divisor=32).eval()
    data = make_packed_batch([('semseg', 'depth', 'normal')] * 2, h=H, w=W)
    samples = model.test_step(data)
    x = model.data_preprocessor(data, False)['inputs']
    full = model(x, mode='tensor')
    for s in samples:
        assert s.pred_semseg.shape == (1, H, W)
        assert s.pred_depth.shape == (1, H, W)
        assert s.pred_normal.shape == (3, H, W)
    assert torch.equal(samples[1].pred_depth, full['depth'][1, :, :H, :W])
    metric = MultiTaskMetric(DEMO_TASKS)
    metric.process(None, [s.to_dict() for s in samples])
    out = metric.compute_metrics(metric.results)
    gt = torch.stack([s.get_gt('depth')[0] for s in data['data_samples']])
    pred = full['depth'][:, :, :H, :W]
    ref = (pred - gt).abs().mean().item()
    assert out['depth/abs_err'] == pytest.approx(ref, rel=1e-5)


def test_bad_size_divisor():
    with pytest.raises(ValueError, match='size_divisor'):
        build_model(size_divisor=0)
