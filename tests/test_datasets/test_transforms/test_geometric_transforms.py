# Copyright (c) mtlpartial contributors. All rights reserved.
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from mtlpartial.datasets.transforms import (RandomFlip, RandomScaleCrop,
                                            compose_box, relative_box,
                                            resize_nearest)
from mtlpartial.tasks import build_tasks

init_default_scope('mtlpartial')

TASKS = dict(
    semseg=dict(type='SemSegTask', num_classes=5),
    depth=dict(type='DepthTask'),
    inv=dict(type='DepthTask', inverse=True),
    normal=dict(type='NormalTask'))


def make_results(h=12, w=16, seed=0):
    rng = np.random.default_rng(seed)
    n = rng.normal(size=(h, w, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=2, keepdims=True)
    specs = build_tasks(TASKS)
    return dict(
        img=rng.random((h, w, 3)).astype(np.float32),
        gt_maps=dict(
            semseg=rng.integers(0, 5, (h, w, 1)).astype(np.int64),
            depth=np.full((h, w, 1), 3., np.float32),
            inv=np.full((h, w, 1), 0.2, np.float32),
            normal=n),
        task_specs=specs,
        tasks=tuple(specs),
        labelled_tasks=tuple(specs),
        crop_box=np.array([0., 0., 1., 1.]),
        flip=False)


@pytest.mark.parametrize('scale', [1.0, 1.2, 1.5, 2.0])
def test_random_scale_crop(scale):
    res = make_results(h=12, w=20)
    src = {k: v.copy() for k, v in res['gt_maps'].items()}
    img = res['img'].copy()
    random.seed(1)
    out = RandomScaleCrop(scales=(scale, ))(res)
    sc, i, j, h, w = out['scale_crop']
    assert sc == scale and (h, w) == (int(12 / scale), int(20 / scale))
    assert out['img'].shape == (12, 20, 3)
    # depth divided by the zoom, inverse depth multiplied (fixed bug)
    np.testing.assert_allclose(out['gt_maps']['depth'], 3. / scale)
    np.testing.assert_allclose(out['gt_maps']['inv'], 0.2 * scale,
                               rtol=1e-6)
    # image: bilinear align_corners=True of the crop (official RSC)
    crop = torch.from_numpy(img[i:i + h, j:j + w]).permute(2, 0, 1)[None]
    ref = F.interpolate(crop, (12, 20), mode='bilinear', align_corners=True)
    np.testing.assert_allclose(
        out['img'], ref[0].permute(1, 2, 0).numpy(), atol=1e-6)
    # seg: nearest as torch's 'nearest'
    seg = torch.from_numpy(src['semseg'][i:i + h, j:j + w, 0]).float()
    ref = F.interpolate(seg[None, None], (12, 20), mode='nearest')
    np.testing.assert_array_equal(out['gt_maps']['semseg'][..., 0],
                                  ref[0, 0].long().numpy())
    assert out['gt_maps']['semseg'].dtype == np.int64
    # box
    np.testing.assert_allclose(out['crop_box'],
                               [j / 20, i / 12, (j + w) / 20, (i + h) / 12])


def test_random_scale_crop_seeded_and_validates():
    a, b = make_results(), make_results()
    random.seed(3)
    a = RandomScaleCrop()(a)
    random.seed(3)
    b = RandomScaleCrop()(b)
    assert a['scale_crop'] == b['scale_crop']
    np.testing.assert_array_equal(a['img'], b['img'])
    with pytest.raises(ValueError, match='scales must be >= 1'):
        RandomScaleCrop(scales=(0.5, 1.))
    res = make_results()
    res['img'] = np.stack([res['img']] * 2)
    with pytest.raises(ValueError, match='before MultiView'):
        RandomScaleCrop()(res)
    res = make_results()
    del res['task_specs']
    with pytest.raises(KeyError, match='task_specs'):
        RandomScaleCrop()(res)


def test_random_flip_negates_normal_x():
    res = make_results()
    src = {k: v.copy() for k, v in res['gt_maps'].items()}
    img = res['img'].copy()
    out = RandomFlip(prob=1.)(res)
    assert out['flip'] is True
    np.testing.assert_array_equal(out['img'], img[:, ::-1])
    n = out['gt_maps']['normal']
    np.testing.assert_array_equal(n[..., 0], -src['normal'][:, ::-1, 0])
    np.testing.assert_array_equal(n[..., 1:], src['normal'][:, ::-1, 1:])
    np.testing.assert_array_equal(out['gt_maps']['semseg'],
                                  src['semseg'][:, ::-1])
    res = make_results()
    out = RandomFlip(prob=0.)(res)
    assert out['flip'] is False
    np.testing.assert_array_equal(out['img'], img)


def test_box_algebra():
    rng = np.random.default_rng(0)
    for _ in range(20):
        b0, b1 = (np.array([x0, y0, x1, y1])
                  for (x0, x1), (y0, y1) in np.sort(rng.random((2, 2, 2)), 2))
        f0, f1 = bool(rng.integers(2)), bool(rng.integers(2))
        rel, rflip = relative_box(b1, f1, b0, f0)
        back, bflip = compose_box(b0, f0, rel, rflip)
        np.testing.assert_allclose(back, b1, atol=1e-12)
        assert bflip == f1
    # flip then crop of the right half == the left half of the original
    box, flip = compose_box((0, 0, 1, 1), True, (0.5, 0, 1, 1), False)
    np.testing.assert_allclose(box, [0, 0, 0.5, 1])
    assert flip


def test_resize_nearest_matches_torch():
    x = np.arange(7 * 9).reshape(7, 9, 1)
    out = resize_nearest(x, (12, 20))
    ref = F.interpolate(
        torch.from_numpy(x[..., 0]).float()[None, None], (12, 20),
        mode='nearest')
    np.testing.assert_array_equal(out[..., 0], ref[0, 0].long().numpy())


def test_fixed_resize_keeps_dtypes_and_region():
    import numpy as np

    from mtlpartial.datasets.transforms import Resize
    from mtlpartial.tasks import build_tasks
    specs = build_tasks(
        dict(seg=dict(type='SemSegTask', num_classes=3),
             depth=dict(type='DepthTask')))
    results = dict(
        img=np.random.rand(10, 20, 3).astype(np.float32),
        gt_maps=dict(
            seg=np.random.randint(0, 3, (10, 20, 1)),
            depth=np.full((10, 20, 1), 2.0, np.float32)),
        task_specs=specs, crop_box=(0., 0., 1., 1.))
    out = Resize((5, 8))(results)
    assert out['img'].shape == (5, 8, 3)
    assert out['gt_maps']['seg'].shape == (5, 8, 1)
    assert out['gt_maps']['seg'].dtype == np.int64
    assert np.all(out['gt_maps']['depth'] == 2.0)  # not a zoom
    assert tuple(out['crop_box']) == (0., 0., 1., 1.)
    import pytest
    with pytest.raises(ValueError, match='Resize'):
        Resize((0, 3))
