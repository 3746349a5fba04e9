# Copyright (c) mtlpartial contributors. All rights reserved.
"""Datasets: subsets and non-unit normals (issue 12, cases 7 and 10)."""
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mtlpartial.datasets.nyuv2_dataset import NYUv2Dataset
from tests.utils.fake_datasets import write_fake_nyuv2

init_default_scope('mtlpartial')
PACK = [dict(type='PackMultiTaskInputs')]


@pytest.fixture(scope='module')
def nyu_root(tmp_path_factory):
    return write_fake_nyuv2(str(tmp_path_factory.mktemp('nyu')), n_train=4,
                            n_val=1, h=8, w=10)


@pytest.mark.parametrize('indices,error,match', [
    ([], ValueError, r'NYUv2Dataset \(split .train., 4 images\): '
     r'indices=\[\] selects no image'),  # was: need at least one array
    ([0, 4], ValueError, r'indices \[4\] are out of range.*\[-4, 3\]'),
    ([-5], ValueError, r'indices \[-5\] are out of range'),
    (0, ValueError, 'indices=0 selects no images'),
    (9, ValueError, r'indices=9 selects more than all images; expected 1 '
     r'<= \|indices\| <= 4'),
    ([1.5], TypeError, 'must hold ints'),
    ('0,1', TypeError, 'must be an int'),
])
def test_bad_indices_are_explained(nyu_root, indices, error, match):
    with pytest.raises(error, match=match):
        NYUv2Dataset(data_root=nyu_root, indices=indices, pipeline=PACK)


def test_good_indices(nyu_root):
    assert len(NYUv2Dataset(data_root=nyu_root, indices=[-1, 0])) == 2
    assert len(NYUv2Dataset(data_root=nyu_root, indices=3)) == 3


def test_training_refuses_scaled_normals(nyu_root, tmp_path):
    root = write_fake_nyuv2(str(tmp_path / 'nyu'), n_train=2, n_val=1, h=8,
                            w=10)
    path = osp.join(root, 'train', 'normal', '1.npy')
    np.save(path, np.load(path) * 0.3)
    ds = NYUv2Dataset(data_root=root, pipeline=PACK)
    assert ds[0] is not None
    with pytest.raises(ValueError, match=r'normal/1.npy: normals of task '
                       r'"normal" must be unit vectors.*median length 0.3'):
        ds[1]
