# Copyright (c) mtlpartial contributors. All rights reserved.
import random

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mtlpartial.datasets.transforms import (MultiView, compose_box,
                                            resize_bilinear, resize_nearest)
from mtlpartial.tasks import build_tasks

init_default_scope('mtlpartial')

H, W = 30, 40


def gradient_results(flip=False):
    """A linear gradient image (x in red, y in green) and matching GT."""
    yy, xx = np.meshgrid(np.arange(H), np.arange(W), indexing='ij')
    img = np.stack([xx / (W - 1), yy / (H - 1), np.full((H, W), .5)],
                   -1).astype(np.float32)
    specs = build_tasks(
        dict(
            semseg=dict(type='SemSegTask', num_classes=W),
            depth=dict(type='DepthTask'),
            normal=dict(type='NormalTask')))
    normal = np.zeros((H, W, 3), np.float32)
    normal[..., 0] = 0.6
    normal[..., 2] = 0.8
    return dict(
        img=img,
        gt_maps=dict(
            semseg=xx[..., None].astype(np.int64),
            depth=np.full((H, W, 1), 4., np.float32),
            normal=normal),
        task_specs=specs,
        tasks=tuple(specs),
        labelled_tasks=('semseg', 'depth', 'normal'),
        crop_box=np.array([0., 0., 1., 1.]),
        flip=flip)


def crop_by_box(arr, box, interp):
    x0, y0, x1, y1 = box
    i, j = int(round(y0 * H)), int(round(x0 * W))
    h, w = int(round((y1 - y0) * H)), int(round((x1 - x0) * W))
    crop = arr[i:i + h, j:j + w]
    if interp == 'bilinear':
        return resize_bilinear(crop, (H, W)), H / h
    return resize_nearest(crop, (H, W)), H / h


@pytest.mark.parametrize('flip_first', [False, True])
def test_nested_views_match_boxes(flip_first):
    view_tf = [dict(type='RandomScaleCrop', scales=(1.2, 1.5, 2.0)),
               dict(type='RandomFlip', prob=0.5)]
    if flip_first:
        view_tf = view_tf[::-1]
    mv = MultiView(num_views=3, view_transforms=view_tf)
    for seed in range(6):
        random.seed(seed)
        np.random.seed(seed)
        res = gradient_results()
        out = mv(res)
        assert out['img'].shape == (3, H, W, 3)
        assert out['gt_maps']['normal'].shape == (3, H, W, 3)
        assert out['view_boxes'].dtype == np.float32
        assert out['view_boxes'].shape == (3, 4)
        assert out['view_flips'].shape == (3, ) and not out['view_flips'][0]
        np.testing.assert_array_equal(out['view_boxes'][0], [0, 0, 1, 1])
        v0 = out['img'][0]
        for v in (1, 2):
            box, flip = out['view_boxes'][v], out['view_flips'][v]
            assert box.min() >= 0 and box.max() <= 1
            expected, zoom = crop_by_box(v0, box, 'bilinear')
            seg, _ = crop_by_box(out['gt_maps']['semseg'][0], box, 'nearest')
            normal, _ = crop_by_box(out['gt_maps']['normal'][0], box,
                                    'bilinear')
            if flip:
                expected = expected[:, ::-1]
                normal = normal[:, ::-1] * np.array([-1, 1, 1], np.float32)
                if flip_first:  # nearest sampling is not flip-symmetric
                    mirrored = (1 - box[2], box[1], 1 - box[0], box[3])
                    seg, _ = crop_by_box(
                        out['gt_maps']['semseg'][0][:, ::-1], mirrored,
                        'nearest')
                else:
                    seg = seg[:, ::-1]
            np.testing.assert_allclose(out['img'][v], expected, atol=1e-5)
            np.testing.assert_array_equal(out['gt_maps']['semseg'][v], seg)
            np.testing.assert_allclose(out['gt_maps']['normal'][v], normal,
                                       atol=1e-6)
            # depth divided by the zoom of view v relative to view 0
            np.testing.assert_allclose(out['gt_maps']['depth'][v],
                                       4. / zoom, rtol=1e-6)


def test_nested_after_flip_keeps_view0_meta():
    random.seed(0)
    np.random.seed(0)
    res = gradient_results(flip=True)
    out = MultiView(num_views=2,
                    view_transforms=[dict(type='RandomScaleCrop')])(res)
    assert out['flip'] is True  # view 0 relative to the loaded image
    assert out['num_views'] == 2 and out['img_shape'] == (H, W)


def test_independent_views():
    mv = MultiView(
        num_views=3,
        nested=False,
        view_transforms=[
            dict(type='RandomScaleCrop', scales=(1.5, )),
            dict(type='RandomFlip', prob=0.5)
        ])
    for seed in range(5):
        random.seed(seed)
        np.random.seed(seed)
        res = gradient_results()
        out = mv(res)
        boxes, flips = out['view_boxes'], out['view_flips']
        np.testing.assert_allclose(boxes[0], [0, 0, 1, 1], atol=1e-6)
        assert not flips[0]
        # the gradient encodes input coordinates: each view's red channel
        # at its left/right edge pixel centres gives its region of the
        # input; view v's region must equal view 0's composed with box v
        x_in = []
        for v in range(3):
            red = out['img'][v][0, :, 0] * (W - 1)
            x_in.append((min(red[0], red[-1]), max(red[0], red[-1]),
                         red[0] > red[-1]))
        for v in range(1, 3):
            comp, cflip = compose_box(out['crop_box'], out['flip'],
                                      boxes[v], flips[v])
            # pixel-edge box -> first/last pixel centres of the crop
            j0 = round(comp[0] * W)
            j1 = round(comp[2] * W) - 1
            np.testing.assert_allclose(x_in[v][:2], (j0, j1), atol=1e-4)
            assert x_in[v][2] == cflip


def test_multiview_errors():
    with pytest.raises(ValueError, match='num_views must be >= 1'):
        MultiView(num_views=0)
    res = gradient_results()
    res['img'] = np.stack([res['img']] * 2)
    with pytest.raises(ValueError, match='already has views'):
        MultiView(num_views=2)(res)


@pytest.mark.parametrize('nested', [True, False])
def test_extra_views_do_not_consume_the_global_streams(nested):
    """Paired seeds: view 0 of every sample, and everything drawn after a
    sample, is the same with 1, 2 or 3 views."""
    from mtlpartial.datasets.transforms import RandomScaleCrop
    rsc = dict(type='RandomScaleCrop', scales=(1.0, 1.2, 1.5))

    def run(num_views):
        random.seed(3)
        np.random.seed(3)
        first = RandomScaleCrop(scales=(1.0, 1.2, 1.5))
        mv = MultiView(num_views=num_views, view_transforms=[rsc],
                       nested=nested)
        out = []
        for _ in range(4):
            res = gradient_results()
            if nested:
                res = first(res)
            res = mv(res)
            out.append(res['img'][0])
        return out, random.random(), np.random.rand()

    one, *tail1 = run(1)
    for v in (2, 3):
        views, *tail = run(v)
        assert tail == tail1
        for a, b in zip(one, views):
            np.testing.assert_array_equal(a, b)
    # the extra views are reproducible and differ between samples
    again, _, _ = run(3)
    np.testing.assert_array_equal(again[2], run(3)[0][2])
