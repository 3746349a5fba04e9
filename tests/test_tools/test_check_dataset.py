# Copyright (c) mtlpartial contributors. All rights reserved.
import os
import os.path as osp
import subprocess
import sys

import numpy as np

from tests.utils.tool_modules import load_tool as _load
from tests.utils.fake_datasets import (write_fake_cityscapes,
                                       write_fake_nyuv2, write_fake_pascal)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'misc', 'check_dataset.py')


def load_tool():
    return _load('tools/misc/check_dataset.py')


def test_check_dataset_clean(tmp_path, capsys):
    tool = load_tool()
    nyu = write_fake_nyuv2(str(tmp_path / 'nyu'), n_train=3, n_val=1, h=8,
                           w=10)
    assert tool.main([nyu, '--type', 'nyuv2']) == 0
    out = capsys.readouterr().out
    assert '3 images' in out and 'no problem found' in out
    assert 'semseg (SemSegTask): 3 files' in out
    cs = write_fake_cityscapes(str(tmp_path / 'cs'), n_train=2, n_val=1,
                               h=8, w=16)
    assert tool.main([cs, '--type', 'cityscapes', '--split', 'val',
                      '--num-classes', '19']) == 0
    pascal = write_fake_pascal(str(tmp_path / 'p'), n_train=2, n_val=1, h=8,
                               w=10)
    assert tool.main([pascal, '--type', 'pascal', '--max-images', '1']) == 0
    assert 'checked 1 images' in capsys.readouterr().out


def test_check_dataset_reports_problems(tmp_path, capsys):
    tool = load_tool()
    root = write_fake_nyuv2(str(tmp_path / 'nyu'), n_train=4, n_val=1, h=8,
                            w=10)
    # planted problems: wrong shape, out-of-range label, NaN, missing file
    np.save(osp.join(root, 'train', 'normal', '1.npy'), np.zeros((8, 10, 2)))
    label = np.zeros((8, 10))
    label[1, 1] = 99
    np.save(osp.join(root, 'train', 'label', '2.npy'), label)
    depth = np.ones((8, 10, 1))
    depth[0, 0] = np.nan
    np.save(osp.join(root, 'train', 'depth', '3.npy'), depth)
    os.remove(osp.join(root, 'train', 'depth', '0.npy'))
    np.save(osp.join(root, 'train', 'image', '3.npy'), np.ones((6, 10, 3)))
    assert tool.main([root, '--type', 'nyuv2']) == 1
    out = capsys.readouterr().out
    assert '6 PROBLEM(S)' in out
    assert 'normal/1.npy: expected ground truth of shape (H, W, 3)' in out
    assert 'label/2.npy: label out of range' in out and '[99]' in out
    assert 'depth/3.npy: ground truth contains NaN' in out
    assert 'file not found:' in out and 'depth/0.npy' in out
    # mismatched sizes: image 3 is 6x10, its label/normal are 8x10
    assert 'label/3.npy: ground truth of task "semseg" has size (8, 10) ' \
        'but the image has size (6, 10)' in out
    # a root that cannot be indexed
    assert tool.main([str(tmp_path / 'none'), '--type', 'nyuv2']) == 1
    assert 'cannot index' in capsys.readouterr().out


def test_check_dataset_cli_from_repo_root(tmp_path):
    root = write_fake_nyuv2(str(tmp_path / 'nyu'), n_train=2, n_val=1, h=8,
                            w=10)
    label = np.zeros((8, 10))
    label[0, 0] = 13
    np.save(osp.join(root, 'train', 'label', '1.npy'), label)
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run(
        [sys.executable, 'tools/misc/check_dataset.py', root, '--type',
         'nyuv2'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert 'label/1.npy: label out of range' in proc.stdout


def test_check_dataset_reports_non_unit_normals(tmp_path, capsys):
    tool = load_tool()
    root = write_fake_nyuv2(str(tmp_path / 'nyu'), n_train=2, n_val=1, h=8,
                            w=10)
    path = osp.join(root, 'train', 'normal', '1.npy')
    np.save(path, np.load(path) * 0.3)  # was accepted
    assert tool.main([root, '--type', 'nyuv2']) == 1
    out = capsys.readouterr().out
    assert '1 PROBLEM(S)' in out
    assert 'normal/1.npy: normals of task "normal" must be unit vectors' \
        in out and 'median length 0.3' in out
