# Copyright (c) mtlpartial contributors. All rights reserved.
"""End to end: tools/train.py + tools/test.py on the embedded default, and
deterministic resume (interrupted + --resume == uninterrupted)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.hooks import Hook

from mtlpartial.registry import HOOKS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'supervised', 'synthetic_onelabel.py')
TINY = [
    'train_dataloader.dataset.num_images=24',
    'val_dataloader.dataset.num_images=8',
    'test_dataloader.dataset.num_images=8', 'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'train_dataloader.batch_size=4',
    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.persistent_workers=False',
    'model.backbone.filters=[8,8,8,8,8]', 'model.heads.in_channels=8',
    'default_hooks.visualization.max_images=2'
]


class Interrupted(Exception):
    pass


@HOOKS.register_module(force=True)
class InterruptAfterEpoch(Hook):
    """Simulates a killed job right after the checkpoint of an epoch."""
    priority = 'LOWEST'

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_train_epoch(self, runner) -> None:
        if runner.epoch == self.epoch:
            raise Interrupted(f'interrupted after epoch {self.epoch}')


def run(*args, check=True):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=check,
                          timeout=600)


def test_train_then_test_writes_checkpoint_metrics_and_pngs(tmp_path):
    work = str(tmp_path / 'work')
    run('tools/train.py', CONFIG, '--work-dir', work, '--cfg-options',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1', *TINY)
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    assert osp.isfile(osp.join(work, 'label_mask.npz'))
    pngs = [f for _, _, fs in os.walk(work) for f in fs if f.endswith('.png')]
    assert pngs, 'no validation visualisations written'
    out = tmp_path / 'metrics.json'
    res = run('tools/test.py', CONFIG, osp.join(work, 'epoch_1.pth'),
              '--work-dir', str(tmp_path / 'test'), '--show-dir',
              str(tmp_path / 'vis'), '--out', str(out), '--cfg-options',
              *TINY)
    metrics = json.loads(out.read_text())
    for key in ('semseg/mIoU', 'semseg/pixel_acc', 'depth/abs_err',
                'depth/rmse', 'normal/mean', 'normal/median', 'normal/11.25'):
        assert key in metrics
    # the metrics once (the metric's tables; was three times) and where
    # the images went
    assert res.stdout.count('Multi-task metrics:') == 1
    assert 'semseg/mIoU' not in res.stdout
    assert f'{metrics["semseg/mIoU"]:.4f}' in res.stdout
    assert f'8 visualisation(s) written to {tmp_path / "vis"}' in res.stdout
    assert len(os.listdir(tmp_path / 'vis')) == 8  # every test image


def _train(work_dir, max_epochs, extra=(), resume=False):
    from mmengine.config import Config, DictAction  # noqa: F401
    from mmengine.runner import Runner
    cfg = Config.fromfile(CONFIG)
    opts = {}
    for item in TINY + [f'train_cfg.max_epochs={max_epochs}',
                        'train_cfg.val_interval=100',
                        'randomness.seed=3'] + list(extra):
        k, v = item.split('=', 1)
        opts[k] = eval(v, {}, {'True': True, 'False': False}) \
            if v[:1] in '0123456789[TF' else v
    cfg.merge_from_dict(opts)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{osp.basename(work_dir)}_{int(resume)}'
    cfg.resume = resume
    runner = Runner.from_cfg(cfg)
    runner.train()
    return {k: v.detach().clone() for k, v in runner.model.state_dict()
            .items()}


def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path):
    full = _train(str(tmp_path / 'full'), 2)
    with pytest.raises(Interrupted):
        _train(str(tmp_path / 'cut'), 2, [
            'custom_hooks=[dict(type="RNGStateHook"),'
            'dict(type="SaveLabelMaskHook"),'
            'dict(type="InterruptAfterEpoch",epoch=1)]'
        ])
    assert osp.isfile(tmp_path / 'cut' / 'epoch_1.pth')
    resumed = _train(str(tmp_path / 'cut'), 2, resume=True)
    assert full.keys() == resumed.keys()
    for k in full:
        assert torch.equal(full[k], resumed[k]), k
