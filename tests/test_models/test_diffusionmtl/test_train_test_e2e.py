# Copyright (c) mtlpartial contributors. All rights reserved.
"""tools/train.py then tools/test.py on the synthetic DiffusionMTL config
(tiny widths and data): a checkpoint and every task's metrics. The other
configs: tests/test_configs, tests/test_tools/test_real_dataset_configs.py.
"""
import json
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
TINY = [
    'train_dataloader.dataset.num_images=8',
    'val_dataloader.dataset.num_images=4',
    'test_dataloader.dataset.num_images=4',
    'train_dataloader.batch_size=4', 'val_dataloader.batch_size=4',
    'test_dataloader.batch_size=4',
    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
    'test_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.persistent_workers=False',
    'test_dataloader.persistent_workers=False',
    'model.backbone.filters=[8,8,8,8,8]', 'model.neck.in_channels=[8,8]',
    'model.neck.out_channels=8', 'model.heads.in_channels=8',
    'model.diffusion.embed_dims=8', 'model.diffusion.head_channels=8',
    'default_hooks.visualization.draw=False'
]


def run(*args):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True,
                          timeout=600)


def test_train_then_test_reports_every_task(tmp_path):
    cfg = osp.join(ROOT, 'configs', 'diffusionmtl', 'synthetic_onelabel.py')
    work = str(tmp_path / 'work')
    run('tools/train.py', cfg, '--work-dir', work, '--cfg-options',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', *TINY)
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    out = tmp_path / 'metrics.json'
    res = run('tools/test.py', cfg, ckpt, '--work-dir',
              str(tmp_path / 'test'), '--out', str(out), '--cfg-options',
              *TINY)
    metrics = json.loads(out.read_text())
    for key in ('semseg/mIoU', 'depth/abs_err', 'normal/mean'):
        # the metric's table (task | metric | value) is printed once
        task, name = key.split('/')
        assert key in metrics and f'| {task}' in res.stdout \
            and f'| {name}' in res.stdout, key
