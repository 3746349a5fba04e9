# Copyright (c) mtlpartial contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from mtlpartial.datasets.transforms import (ImgAugment, PackMultiTaskInputs,
                                            PhotoMetricDistortion)
from mtlpartial.datasets.transforms.photometric import (autocontrast,
                                                        posterize, solarize)
from mtlpartial.tasks import build_tasks

init_default_scope('mtlpartial')


def results(views=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (8, 10, 3) if views is None else (views, 8, 10, 3)
    gshape = (8, 10, 1) if views is None else (views, 8, 10, 1)
    specs = build_tasks(
        dict(
            semseg=dict(type='SemSegTask', num_classes=3),
            depth=dict(type='DepthTask')))
    return dict(
        img=rng.random(shape).astype(np.float32),
        gt_maps=dict(semseg=rng.integers(0, 3, gshape).astype(np.int64)),
        task_specs=specs,
        tasks=('semseg', 'depth'),
        labelled_tasks=('semseg', ),
        sample_idx=4,
        image_id='img4',
        ori_shape=(8, 10),
        img_shape=(8, 10),
        flip=False)


@pytest.mark.parametrize('tf', [ImgAugment(num_ops=3),
                                PhotoMetricDistortion()])
def test_photometric_range_determinism_views(tf):
    for seed in range(8):
        np.random.seed(seed)
        a = tf(results(views=3))
        np.random.seed(seed)
        b = tf(results(views=3))
        assert a['img'].shape == (3, 8, 10, 3)
        assert a['img'].dtype == np.float32
        assert a['img'].min() >= 0 and a['img'].max() <= 1
        np.testing.assert_array_equal(a['img'], b['img'])
        # ground truth untouched
        np.testing.assert_array_equal(a['gt_maps']['semseg'],
                                      results(views=3)['gt_maps']['semseg'])
    # views get independent draws: identical inputs end up different
    np.random.seed(0)
    res = results()
    res['img'] = np.stack([res['img']] * 3)
    out = tf(res)['img']
    assert not (np.array_equal(out[0], out[1])
                and np.array_equal(out[1], out[2]))


def test_img_augment_ops():
    img = np.linspace(0, 1, 48, dtype=np.float32).reshape(4, 4, 3)
    u8 = (img * 255).astype(np.uint8)
    np.testing.assert_array_equal(
        posterize(img, 2) * 255, (u8 & 0b11000000).astype(np.float32))
    sol = solarize(img, 128.) * 255
    np.testing.assert_array_equal(sol, np.where(u8 >= 128, 255 - u8, u8))
    low = img * 0.5 + 0.2
    out = autocontrast(low)
    np.testing.assert_allclose(out.min(axis=(0, 1)), 0, atol=1e-6)
    np.testing.assert_allclose(out.max(axis=(0, 1)), 1, atol=1e-6)
    const = np.full((4, 4, 3), 0.3, np.float32)
    np.testing.assert_allclose(autocontrast(const), const)
    # magnitude table of JTR (31 bins): m = 0 -> no change, 8 bits, 255
    aug = ImgAugment()
    assert aug.space['Posterize'][0][0] == 8
    assert aug.space['Posterize'][0][30] == 4
    assert aug.space['Solarize'][0][0] == 255
    np.testing.assert_allclose(aug.space['Brightness'][0][30], 0.9)
    for op in ImgAugment.OPS:
        out = ImgAugment.apply_op(img, op, 0.3 if op != 'Posterize' else 6)
        assert out.shape == img.shape and out.dtype == np.float32
    np.testing.assert_allclose(ImgAugment.apply_op(img, 'Brightness', 0.),
                               img)
    with pytest.raises(ValueError, match='unknown ops'):
        ImgAugment(ops=('Rotate', ))
    with pytest.raises(ValueError, match='magnitude'):
        ImgAugment(magnitude=40)


def test_pack_single_view():
    out = PackMultiTaskInputs()(results())
    x, s = out['inputs'], out['data_samples']
    assert x.shape == (1, 3, 8, 10) and x.dtype == torch.float32
    assert s.tasks == ('semseg', 'depth')
    assert s.labelled_tasks == ('semseg', )
    g = s.get_gt('semseg')
    assert g.shape == (1, 1, 8, 10) and g.dtype == torch.int64
    assert 'gt_depth' not in s
    assert s.sample_idx == 4 and s.image_id == 'img4' and s.flip is False
    assert torch.equal(s.view_boxes, torch.tensor([[0., 0., 1., 1.]]))
    assert s.view_flips.dtype == torch.bool and s.view_flips.shape == (1, )


def test_pack_multi_view_and_guards():
    res = results(views=2)
    res['view_boxes'] = np.array([[0, 0, 1, 1], [.1, .1, .9, .9]],
                                 np.float32)
    res['view_flips'] = np.array([False, True])
    out = PackMultiTaskInputs()(res)
    assert out['inputs'].shape == (2, 3, 8, 10)
    assert out['data_samples'].get_gt('semseg').shape == (2, 1, 8, 10)
    assert out['data_samples'].view_flips.tolist() == [False, True]
    # ground truth of an unlabelled task must never be packed
    res = results()
    res['gt_maps']['depth'] = np.ones((8, 10, 1), np.float32)
    with pytest.raises(KeyError, match=r"unlabelled task\(s\) \['depth'\]"):
        PackMultiTaskInputs()(res)
    res = results()
    res['gt_maps'] = {}
    with pytest.raises(KeyError, match='"semseg" is labelled but has no'):
        PackMultiTaskInputs()(res)
