# Copyright (c) mtlpartial contributors. All rights reserved.
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from PIL import Image
from scipy.io import loadmat

from mtlpartial.datasets.pascal_context_dataset import PascalContextDataset
from mtlpartial.datasets.pascal_context_utils import (NORMALS_VALID_CLASSES,
                                                      edges_from_label_map,
                                                      thin)
from tests.utils.fake_datasets import write_fake_pascal

init_default_scope('mtlpartial')

PACK = [dict(type='PackMultiTaskInputs')]


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    return write_fake_pascal(
        str(tmp_path_factory.mktemp('pascal')), n_train=3, n_val=2, h=24,
        w=32)


def test_pascal_loads_all_tasks(root):
    ds = PascalContextDataset(data_root=root, split='train', pipeline=PACK)
    assert ds.task_names == ('semseg', 'human_parts', 'sal', 'normals',
                             'edge')
    assert ds.image_ids == ['2008_000000', '2008_000001', '2008_000002']
    assert ds.task_specs['human_parts'].num_classes == 7
    out = ds[0]
    assert out['inputs'].shape == (1, 3, 24, 32)
    s = out['data_samples']
    for t, c, dtype in (('semseg', 1, torch.int64),
                        ('human_parts', 1, torch.int64),
                        ('sal', 1, torch.float32),
                        ('normals', 3, torch.float32),
                        ('edge', 1, torch.float32)):
        g = s.get_gt(t)
        assert g.shape == (1, c, 24, 32) and g.dtype == dtype, t
    # semseg: PNG ids, 255 kept as ignore
    png = np.array(Image.open(osp.join(root, 'semseg', 'pascal-context',
                                       '2008_000000.png')))
    np.testing.assert_array_equal(s.get_gt('semseg')[0, 0].numpy(), png)
    # person parts: head = 1, torso = 2, elsewhere background
    parts = s.get_gt('human_parts')[0, 0].numpy()
    assert set(np.unique(parts)) == {0, 1, 2}
    assert parts[6, 8] == 1 and parts[20, 8] == 2 and parts[0, 0] == 0
    # an image without person parts is entirely ignored
    parts1 = ds[1]['data_samples'].get_gt('human_parts')
    assert (parts1 == 255).all()
    # saliency binarised at 0.5
    sal = s.get_gt('sal')[0, 0].numpy()
    lm = loadmat(osp.join(root, 'pascal-context', 'trainval',
                          '2008_000000.mat'))['LabelMap']
    np.testing.assert_array_equal(sal, (lm == 284).astype(np.float32))
    # normals: unit where the class is valid (18, 284), zero elsewhere (2)
    normals = s.get_gt('normals')[0].numpy()
    norm = np.linalg.norm(normals, axis=0)
    valid = np.isin(lm, NORMALS_VALID_CLASSES)
    assert valid.any() and (~valid).any()
    np.testing.assert_allclose(norm[valid], 1, atol=1e-5)
    assert (norm[~valid] == 0).all()
    assert 18 in NORMALS_VALID_CLASSES and 427 in NORMALS_VALID_CLASSES
    assert 2 not in NORMALS_VALID_CLASSES and 431 not in NORMALS_VALID_CLASSES
    # edges: thin boundaries of the LabelMap
    edge = s.get_gt('edge')[0, 0].numpy()
    np.testing.assert_array_equal(edge, edges_from_label_map(lm))
    assert edge.sum() > 0


def test_pascal_partial_and_renamed(root):
    ds = PascalContextDataset(
        data_root=root,
        split='val',
        tasks=dict(
            seg=dict(type='SemSegTask', num_classes=21),
            saliency=dict(type='BinaryTask')),
        task_sources=dict(seg='semseg', saliency='sal'),
        partial_labels=np.array([[1, 0], [0, 1]], bool),
        pipeline=PACK)
    s0, s1 = ds[0]['data_samples'], ds[1]['data_samples']
    assert s0.labelled_tasks == ('seg', ) and 'gt_saliency' not in s0
    assert s1.labelled_tasks == ('saliency', ) and 'gt_seg' not in s1
    with pytest.raises(KeyError, match='unknown source'):
        PascalContextDataset(data_root=root, task_sources=dict(x='depth'))


def test_pascal_missing_files(tmp_path):
    root = write_fake_pascal(str(tmp_path / 'p'), n_train=2, n_val=1, h=8,
                             w=10)
    os.remove(osp.join(root, 'pascal-context', 'trainval', '2008_000001.mat'))
    with pytest.raises(FileNotFoundError, match=r'2008_000001\.mat'):
        PascalContextDataset(data_root=root)
    with pytest.raises(FileNotFoundError, match='split file not found'):
        PascalContextDataset(data_root=root, split='test')


def test_thin_matches_skeleton_rules():
    # a filled rectangle thins to a 1-pixel-wide horizontal line
    img = np.zeros((9, 15), bool)
    img[2:7, 2:13] = True
    out = thin(img)
    assert out.sum() > 0 and out[~img].sum() == 0
    rows = np.unique(np.nonzero(out)[0])
    assert len(rows) == 1 and rows[0] == 4
    # 1-pixel lines are already thin
    line = np.zeros((5, 7), bool)
    line[2, 1:6] = True
    np.testing.assert_array_equal(thin(line), line)
    # a 2-pixel-wide boundary (Laplacian of a step) becomes 1 pixel wide;
    # expected output computed with skimage.morphology.thin 0.26
    lm = np.zeros((8, 8), int)
    lm[:, 4:] = 3
    edges = edges_from_label_map(lm)
    expected = np.zeros((8, 8), np.uint8)
    expected[1:, 3] = 1
    np.testing.assert_array_equal(edges, expected)
    # a random pattern, expected output from skimage.morphology.thin 0.26
    img = _parse(['11.11111.111', '11..1..11.11', '.11.1.11..1.',
                  '1..1....1..1', '.111.1.111.1', '1..1.1.1....',
                  '..11111.111.', '..11.1.11..1'])
    expected = _parse(['...1111..1..', '1...1..11.1.', '.11.1.11..1.',
                       '1..1....1..1', '.11..1..11.1', '1..1.1.1....',
                       '...1111.111.', '..1....1...1'])
    np.testing.assert_array_equal(thin(img), expected)


def _parse(rows):
    return np.array([[c == '1' for c in r] for r in rows])
