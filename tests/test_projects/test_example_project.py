# Copyright (c) mtlpartial contributors. All rights reserved.
"""The example project trains from a fresh copy of the repository."""
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

from tests.utils.tiny_runs import TINY_CLI_OPTIONS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROJECT = 'projects/example_project'
CONFIG = (f'{PROJECT}/configs/'
          'dsconv-head_edge-smooth_synthetic-onelabel.py')


def copy_checkout(dst: str) -> None:
    """Copy the tracked and untracked (not ignored) files of the checkout,
    i.e. what a ``git clone`` of the committed tree would contain."""
    files = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard',
         '-z'],
        cwd=REPO, check=True, capture_output=True).stdout.decode().split('\0')
    files = [f for f in files if f and osp.isfile(osp.join(REPO, f))]
    assert any(f.startswith(PROJECT + '/') for f in files)
    for rel in files:
        os.makedirs(osp.dirname(osp.join(dst, rel)), exist_ok=True)
        shutil.copy2(osp.join(REPO, rel), osp.join(dst, rel))


def test_example_project_trains_in_a_fresh_copy(tmp_path):
    clone = str(tmp_path / 'clone')
    copy_checkout(clone)
    work_dir = str(tmp_path / 'work')
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)  # tools/train.py must find projects/ itself
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir', work_dir,
         '--cfg-options', *TINY_CLI_OPTIONS],
        cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    # the plugin's components were built and used
    dumped = open(osp.join(work_dir, osp.basename(CONFIG))).read()
    assert 'DepthwiseSeparableConvHead' in dumped
    scalars = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert len(scalars) == 1
    records = [json.loads(line) for line in open(scalars[0])]
    train = [r for r in records if 'iter' in r]
    val = [r for r in records if 'semseg/mIoU' in r]
    assert len(train) == 2 and val
    for r in train:
        assert 'smooth.loss_smooth' in r and r['smooth.loss_smooth'] > 0
        assert r['loss'] == r['loss']  # not NaN
    import torch
    ckpt = torch.load(osp.join(work_dir, 'epoch_1.pth'), map_location='cpu',
                      weights_only=False)
    assert 'heads.depth.blocks.0.0.weight' in ckpt['state_dict']
