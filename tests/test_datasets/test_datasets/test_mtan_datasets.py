# Copyright (c) mtlpartial contributors. All rights reserved.
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from mtlpartial.datasets.cityscapes_dataset import CityscapesDataset
from mtlpartial.datasets.nyuv2_dataset import NYUv2Dataset
from mtlpartial.registry import DATASETS
from tests.utils.fake_datasets import write_fake_cityscapes, write_fake_nyuv2

init_default_scope('mtlpartial')

PACK = [dict(type='PackMultiTaskInputs')]


@pytest.fixture(scope='module')
def nyu_root(tmp_path_factory):
    return write_fake_nyuv2(
        str(tmp_path_factory.mktemp('nyu')), n_train=4, n_val=2, h=24, w=32)


@pytest.fixture(scope='module')
def cs_root(tmp_path_factory):
    return write_fake_cityscapes(
        str(tmp_path_factory.mktemp('cs')), n_train=3, n_val=2, h=16, w=32)


def test_nyuv2_full_packed(nyu_root):
    ds = DATASETS.build(
        dict(type='NYUv2Dataset', data_root=nyu_root, pipeline=PACK))
    assert len(ds) == 4
    assert ds.task_names == ('semseg', 'depth', 'normal')
    assert ds.label_mask.shape == (4, 3) and ds.label_mask.all()
    assert ds.image_ids == [0, 1, 2, 3]
    assert ds.metainfo['tasks'] == ('semseg', 'depth', 'normal')
    assert len(ds.metainfo['classes']['semseg']) == 13
    out = ds[1]
    x, s = out['inputs'], out['data_samples']
    assert x.shape == (1, 3, 24, 32) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() <= 1
    assert s.get_gt('semseg').shape == (1, 1, 24, 32)
    assert s.get_gt('semseg').dtype == torch.int64
    assert s.get_gt('depth').shape == (1, 1, 24, 32)
    assert s.get_gt('normal').shape == (1, 3, 24, 32)
    assert s.get_gt('normal').dtype == torch.float32
    # MTAN's -1 ignore becomes the task's ignore_index
    raw = np.load(osp.join(nyu_root, 'train', 'label', '1.npy'))
    seg = s.get_gt('semseg')[0, 0].numpy()
    assert (seg[raw == -1] == 255).all()
    np.testing.assert_array_equal(seg[raw >= 0], raw[raw >= 0])
    assert s.sample_idx == 1 and s.image_id == 1
    assert s.view_boxes.shape == (1, 4) and s.view_flips.shape == (1, )
    assert tuple(s.ori_shape) == (24, 32)


def test_nyuv2_partial_labels_never_loaded(nyu_root, monkeypatch):
    mask = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], bool)
    ds = NYUv2Dataset(data_root=nyu_root, partial_labels=mask, pipeline=PACK)
    np.testing.assert_array_equal(ds.label_mask, mask)
    # an unlabelled task's file is never read
    read = []
    import mtlpartial.datasets.mtan_npy_dataset as mod
    orig = mod.load_npy

    def spy(path):
        read.append(path)
        return orig(path)

    monkeypatch.setattr(mod, 'load_npy', spy)
    for i, row in enumerate(mask):
        s = ds[i]['data_samples']
        labelled = tuple(t for t, m in zip(ds.task_names, row) if m)
        assert s.labelled_tasks == labelled
        for t in ds.task_names:
            assert (f'gt_{t}' in s) == (t in labelled)
        info = ds.get_data_info(i)
        assert set(info['gt_paths']) == set(labelled)
    folders = {osp.basename(osp.dirname(p)) for p in read[:2]}
    assert folders == {'image', 'label'}
    assert not any('/depth/0.npy' in p or '/normal/0.npy' in p for p in read)


def test_nyuv2_setting_and_indices(nyu_root):
    ds = NYUv2Dataset(
        data_root=nyu_root, partial_labels=dict(type='OneLabel', seed=0))
    assert (ds.label_mask.sum(1) == 1).all()
    sub = NYUv2Dataset(
        data_root=nyu_root,
        partial_labels=dict(type='OneLabel', seed=0),
        indices=[1, 3])
    np.testing.assert_array_equal(sub.label_mask, ds.label_mask[[1, 3]])
    assert sub.image_ids == [1, 3]
    # test mode: always fully labelled
    val = NYUv2Dataset(
        data_root=nyu_root, split='val', test_mode=True,
        partial_labels='onelabel')
    assert val.label_mask.all() and len(val) == 2


def test_nyuv2_task_subset_and_folders(nyu_root):
    ds = NYUv2Dataset(
        data_root=nyu_root,
        tasks=dict(depth=dict(type='DepthTask')),
        pipeline=PACK)
    s = ds[0]['data_samples']
    assert s.tasks == ('depth', ) and 'gt_depth' in s
    ds = NYUv2Dataset(
        data_root=nyu_root,
        tasks=dict(seg=dict(type='SemSegTask', num_classes=13)),
        task_folders=dict(seg='label'),
        pipeline=PACK)
    assert ds[0]['data_samples'].get_gt('seg').shape == (1, 1, 24, 32)


def test_unknown_task_and_wrong_kind(nyu_root):
    with pytest.raises(KeyError, match=r"unknown task.*'edge'.*supports"):
        NYUv2Dataset(
            data_root=nyu_root,
            tasks=dict(edge=dict(type='BinaryTask')))
    with pytest.raises(ValueError, match='"depth" must be a depth task'):
        NYUv2Dataset(
            data_root=nyu_root,
            tasks=dict(depth=dict(type='SemSegTask', num_classes=3)))


def test_mask_errors(nyu_root):
    bad_len = np.ones((3, 3), bool)
    with pytest.raises(ValueError, match=r'shape \(3, 3\).*expected \(4, 3\)'):
        NYUv2Dataset(data_root=nyu_root, partial_labels=bad_len)
    empty = np.ones((4, 3), bool)
    empty[2] = False
    with pytest.raises(ValueError,
                       match=r'image 2 \(id 2\) has no labelled task'):
        NYUv2Dataset(data_root=nyu_root, partial_labels=empty)


def test_missing_and_bad_files(tmp_path):
    root = write_fake_nyuv2(str(tmp_path / 'nyu'), n_train=3, n_val=1,
                            h=8, w=10)
    # missing ground truth: reported at init, with the file name
    os.remove(osp.join(root, 'train', 'normal', '2.npy'))
    with pytest.raises(FileNotFoundError, match=r'normal/2\.npy'):
        NYUv2Dataset(data_root=root)
    # ... but not when that task is unlabelled for that image
    mask = np.ones((3, 3), bool)
    mask[2, 2] = False
    ds = NYUv2Dataset(data_root=root, partial_labels=mask, pipeline=PACK)
    assert 'gt_normal' not in ds[2]['data_samples']
    # missing image index
    os.remove(osp.join(root, 'train', 'image', '1.npy'))
    with pytest.raises(FileNotFoundError, match=r'image/1\.npy'):
        NYUv2Dataset(data_root=root)
    with pytest.raises(FileNotFoundError, match='image folder not found'):
        NYUv2Dataset(data_root=str(tmp_path / 'nowhere'))

    root = write_fake_nyuv2(str(tmp_path / 'nyu2'), n_train=3, n_val=1,
                            h=8, w=10)
    ds = NYUv2Dataset(data_root=root, pipeline=PACK)
    # wrong shape (channels)
    np.save(osp.join(root, 'train', 'normal', '0.npy'), np.zeros((8, 10, 2)))
    with pytest.raises(ValueError, match=r'normal/0\.npy.*\(H, W, 3\)'):
        ds[0]
    # mismatched size
    np.save(osp.join(root, 'train', 'depth', '1.npy'), np.ones((4, 10, 1)))
    with pytest.raises(ValueError, match=r'depth/1\.npy.*size \(4, 10\)'):
        ds[1]
    # label out of range
    label = np.zeros((8, 10))
    label[2, 3] = 13
    np.save(osp.join(root, 'train', 'label', '2.npy'), label)
    with pytest.raises(ValueError,
                       match=r'label/2\.npy: label out of range.*\[13\]'):
        ds[2]
    # NaN depth, image out of range
    depth = np.ones((8, 10, 1))
    depth[0, 0] = np.nan
    np.save(osp.join(root, 'train', 'depth', '2.npy'), depth)
    np.save(osp.join(root, 'train', 'label', '2.npy'), np.zeros((8, 10)))
    with pytest.raises(ValueError, match=r'depth/2\.npy.*NaN'):
        ds[2]
    np.save(osp.join(root, 'train', 'image', '2.npy'),
            np.full((8, 10, 3), 3.))
    with pytest.raises(ValueError, match=r'image/2\.npy.*\[0, 1\]'):
        ds[2]


def test_cityscapes(cs_root):
    ds = CityscapesDataset(data_root=cs_root, pipeline=PACK)
    assert ds.task_specs['depth'].inverse
    assert ds.task_specs['semseg'].num_classes == 7
    s = ds[0]['data_samples']
    seg = s.get_gt('semseg')[0, 0].numpy()
    raw = np.load(osp.join(cs_root, 'train', 'label_7', '0.npy'))
    np.testing.assert_array_equal(seg[raw >= 0], raw[raw >= 0])
    assert (seg[raw < 0] == 255).all()

    ds19 = CityscapesDataset(
        data_root=cs_root, num_classes=19, split='val', pipeline=PACK)
    assert len(ds19) == 2
    seg = ds19[0]['data_samples'].get_gt('semseg')[0, 0].numpy()
    raw = np.load(osp.join(cs_root, 'val', 'label_19', '0.npy'))
    np.testing.assert_array_equal(seg[raw >= 0], raw[raw >= 0])
    assert len(ds19.metainfo['classes']['semseg']) == 19
    with pytest.raises(ValueError, match='num_classes=7 but.*label_19'):
        CityscapesDataset(
            data_root=cs_root,
            num_classes=19,
            tasks=dict(semseg=dict(type='SemSegTask', num_classes=7)))
    with pytest.raises(ValueError, match='must be 7 or 19'):
        CityscapesDataset(data_root=cs_root, num_classes=8)
