# Copyright (c) mtlpartial contributors. All rights reserved.
import math

import pytest
import torch
from mmengine.registry import init_default_scope

from mtlpartial.registry import MODELS
from mtlpartial.models.regularizers import RegularizerContext
from projects.example_project.example_plugin import edge_aware_smoothness
from tests.utils.demo_inputs import DEMO_TASKS, make_packed_batch


def test_formula_by_hand():
    """A depth ramp along x on an image with one vertical edge."""
    h, w = 3, 4
    depth = torch.arange(1., w + 1).expand(1, 1, h, w).clone()
    image = torch.zeros(1, 3, h, w)
    image[..., 2:] = 1.0  # edge between columns 1 and 2
    out = edge_aware_smoothness(depth, image, edge_weight=2.0)
    d = depth / depth.mean()  # mean 2.5: steps of 0.4 along x
    step = float(d[0, 0, 0, 1] - d[0, 0, 0, 0])
    # x: 3 steps per row, the middle one across the edge (weight e^-2)
    expected_x = step * (2 + math.exp(-2.0)) / 3
    assert float(out) == pytest.approx(expected_x, rel=1e-6)  # y term is 0
    # disparity: 1/d, then mean-normalised
    disp = edge_aware_smoothness(depth, image, 2.0, disparity=True)
    inv = 1 / depth[0, 0, 0]
    inv = inv / inv.mean()
    diffs = (inv[1:] - inv[:-1]).abs()
    expected = (diffs[0] + diffs[1] * math.exp(-2.0) + diffs[2]) / 3
    assert float(disp) == pytest.approx(float(expected), rel=1e-5)


def test_scale_invariance_and_edges():
    torch.manual_seed(0)
    depth = torch.rand(3, 1, 8, 9) + 0.5
    image = torch.rand(3, 3, 8, 9)
    base = edge_aware_smoothness(depth, image)
    assert base.shape == (3, )
    assert torch.allclose(edge_aware_smoothness(5 * depth, image), base,
                          rtol=1e-5)
    # a flat image weights every depth step by 1: the largest value
    flat = edge_aware_smoothness(depth, torch.zeros_like(image))
    assert (flat > base).all()
    # negative predictions are clamped, not amplified
    neg = edge_aware_smoothness(-depth, image)
    assert torch.isfinite(neg).all() and (neg == 0).all()
    with pytest.raises(ValueError, match='depth must be'):
        edge_aware_smoothness(depth[:, 0], image)
    with pytest.raises(ValueError, match='image must be'):
        edge_aware_smoothness(depth, image[:2])


def build_model(**reg):
    init_default_scope('mtlpartial')
    cfg = dict(type='EdgeAwareSmoothness', loss_weight=1.0)
    cfg.update(reg)
    return MODELS.build(
        dict(type='MultiTaskModel', tasks=DEMO_TASKS,
             backbone=dict(type='MTANSegNet', filters=(4, 4, 4, 4, 4)),
             heads=dict(type='ConvHead', in_channels=4),
             regularizers=[cfg]))


def test_only_unlabelled_samples_in_model():
    torch.manual_seed(0)
    model = build_model()
    labelled = [['semseg'], ['depth'], ['normal'], ['depth', 'normal']]
    data = model.data_preprocessor(
        make_packed_batch(labelled, h=32, w=32), True)
    losses = model(**data, mode='loss')
    loss = losses['smooth.loss_smooth']
    # by hand: samples 0 and 2 have no depth label; mean over B = 4
    preds = model(data['inputs'], mode='tensor')
    per = edge_aware_smoothness(preds['depth'], data['inputs'])
    assert float(loss) == pytest.approx(float(per[[0, 2]].sum() / 4),
                                        rel=1e-5)
    # gradients reach the depth head but never from labelled samples
    model.zero_grad()
    loss.backward()
    assert model.heads['depth'].layers[0].weight.grad.abs().sum() > 0
    assert model.heads['semseg'].layers[0].weight.grad is None
    # all samples with only_unlabelled=False
    model_all = build_model(only_unlabelled=False)
    model_all.load_state_dict(model.state_dict())
    loss_all = model_all(**data, mode='loss')['smooth.loss_smooth']
    assert float(loss_all) == pytest.approx(float(per.mean()), rel=1e-5)


def test_depth_labelled_everywhere_gives_zero():
    model = build_model()
    data = model.data_preprocessor(
        make_packed_batch([['depth'], ['depth', 'semseg']], h=32, w=32), True)
    loss = model(**data, mode='loss')['smooth.loss_smooth']
    assert float(loss) == 0 and not loss.requires_grad


def test_normalised_inputs_are_mapped_back():
    """The context's images are the packed [0, 1] images whatever the data
    preprocessor's normalisation: the loss of a normalising model equals
    the formula on the packed images."""
    torch.manual_seed(0)
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    init_default_scope('mtlpartial')
    norm_model = MODELS.build(
        dict(type='MultiTaskModel', tasks=DEMO_TASKS,
             data_preprocessor=dict(type='MultiTaskDataPreprocessor',
                                    mean=mean, std=std),
             backbone=dict(type='MTANSegNet', filters=(4, 4, 4, 4, 4)),
             heads=dict(type='ConvHead', in_channels=4),
             regularizers=[dict(type='EdgeAwareSmoothness',
                                only_unlabelled=False, loss_weight=1.0)]))
    packed = make_packed_batch([['semseg'], ['normal']], h=32, w=32)
    images = torch.stack([x[0] for x in packed['inputs']])
    data = norm_model.data_preprocessor(packed, True)
    assert not torch.allclose(data['inputs'], images)
    torch.testing.assert_close(
        norm_model.data_preprocessor.denormalize(data['inputs']), images,
        atol=1e-6, rtol=0)
    loss = norm_model(**data, mode='loss')['smooth.loss_smooth']
    preds = norm_model(data['inputs'], mode='tensor')
    expected = edge_aware_smoothness(preds['depth'], images).mean()
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)


def test_errors():
    with pytest.raises(KeyError, match='task "height"'):
        build_model(task='height')
    with pytest.raises(ValueError, match='must be a depth task'):
        build_model(task='normal')
    model = build_model()
    data = model.data_preprocessor(
        make_packed_batch([['semseg']], h=32, w=32), True)
    ctx = RegularizerContext(
        tasks=model.tasks, batch=data['data_samples'],
        preds=[model(data['inputs'], mode='tensor')], feats=[],
        head_inputs=[], task_loss=None, sample_mean=None)
    with pytest.raises(RuntimeError, match='no input images'):
        model.regularizers[0](ctx)
