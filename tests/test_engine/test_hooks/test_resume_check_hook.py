# Copyright (c) mtlpartial contributors. All rights reserved.
"""Resume follows the current config (issue 12, cases 1, 2 and 9)."""
import os
import os.path as osp
import re
import shutil
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import PARAM_SCHEDULERS

from tests.utils.tiny_runs import LRS, tiny_cfg, train
from tests.utils.tiny_runs import release_logger_streams  # noqa: F401

STEP = dict(param_scheduler=[
    dict(type='StepLR', step_size=1, gamma=0.5, by_epoch=True)
])
# no T_max and no end: both come from max_epochs
COSINE = dict(param_scheduler=[
    dict(type='CosineAnnealingLR', eta_min=1e-4, by_epoch=True)
])


@pytest.fixture(scope='module')
def step_runs(tmp_path_factory):
    """An uninterrupted 4-epoch run and a 2-epoch run (StepLR)."""
    root = tmp_path_factory.mktemp('step')
    full_dir, short_dir = str(root / 'full'), str(root / 'short')
    _, full = train(tiny_cfg(full_dir, 4, STEP))
    train(tiny_cfg(short_dir, 2, STEP))
    return dict(full=full, full_lrs=list(LRS[full_dir]), short=short_dir,
                root=root)


def copy_run(src: str, dst) -> str:
    shutil.copytree(src, str(dst))
    return str(dst)


def test_resume_with_more_epochs_equals_uninterrupted_run(step_runs,
                                                          tmp_path):
    work = copy_run(step_runs['short'], tmp_path / 'resumed')
    _, resumed = train(tiny_cfg(work, 4, STEP), resume=True)
    # epochs 3 and 4: the lr of the uninterrupted run (frozen at epoch 2's
    # before the fix: the scheduler's end stayed at the old max_epochs)
    assert LRS[work] == step_runs['full_lrs'][2:]
    assert LRS[work] == [2e-3 * 0.5**2, 2e-3 * 0.5**3]
    for key, value in step_runs['full'].items():
        assert torch.equal(value, resumed[key]), key


def test_changed_schedule_and_lr_on_resume_are_applied_and_logged(
        tmp_path, capsys):
    """Cosine without T_max (it follows max_epochs) and a new lr: epochs 3
    and 4 get the lr of an uninterrupted run of the new config."""
    new = dict(COSINE, optim_wrapper=dict(optimizer=dict(lr=1e-3)))
    full_dir, work = str(tmp_path / 'full'), str(tmp_path / 'cut')
    train(tiny_cfg(full_dir, 4, new))
    train(tiny_cfg(work, 2, COSINE))
    cfg = tiny_cfg(work, 4, new)
    cfg.log_level = 'INFO'
    train(cfg, resume=True)
    torch.testing.assert_close(LRS[work], LRS[full_dir][2:], rtol=1e-12,
                               atol=0)
    out = capsys.readouterr().out
    assert 'follow the current config' in out
    assert 'param group 0 initial_lr: 0.002 -> 0.001' in out
    assert 'param_scheduler[0] (CosineAnnealingLR) end: 2 -> 4' in out
    assert 'T_max: 2 -> 4' in out


def _steps_like_param_scheduler_hook(schedulers, iters, epoch_length):
    for i in range(iters):
        for s in schedulers:
            if not s.by_epoch:
                s.step()
        if (i + 1) % epoch_length == 0:
            for s in schedulers:
                if s.by_epoch:
                    s.step()


def _schedulers(cfgs):
    optim = OptimWrapper(
        torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1,
                        momentum=0.9))
    return optim, [
        PARAM_SCHEDULERS.build(dict(c), default_args=dict(optimizer=optim))
        for c in cfgs
    ]


def test_replay_interleaves_iteration_and_epoch_steps():
    from mtlpartial.engine.hooks.resume_check_hook import replay_schedules
    cfgs = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=7),
        dict(type='MultiStepLR', milestones=[2, 3], by_epoch=True, end=10),
        dict(type='CosineAnnealingMomentum', T_max=10, by_epoch=True,
             end=10, eta_min=0.5),
    ]
    optim_a, scheds_a = _schedulers(cfgs)
    _steps_like_param_scheduler_hook(scheds_a, 17, 5)  # mid-epoch 3
    optim_b, scheds_b = _schedulers(cfgs)
    replay_schedules(scheds_b, iters=17, epochs=3, epoch_length=5)
    assert optim_a.param_groups[0]['lr'] == optim_b.param_groups[0]['lr']
    assert optim_a.param_groups[0]['momentum'] == \
        optim_b.param_groups[0]['momentum']
    for a, b in zip(scheds_a, scheds_b):
        assert a.state_dict()['last_step'] == b.state_dict()['last_step']


def test_plateau_schedule_refuses_a_changed_lr(step_runs, tmp_path):
    plateau = dict(param_scheduler=[
        dict(type='ReduceOnPlateauLR', monitor='semseg/mIoU',
             rule='greater', by_epoch=True)
    ])
    work = str(tmp_path / 'plateau')
    train(tiny_cfg(work, 1, plateau))
    cfg = tiny_cfg(work, 2, dict(plateau, optim_wrapper=dict(
        optimizer=dict(lr=1e-5))))
    with pytest.raises(RuntimeError, match='initial_lr: 0.002 -> 1e-05.*'
                       'depends on validation metrics'):
        train(cfg, resume=True)


def test_resume_removes_temp_files_of_a_killed_save(step_runs, tmp_path):
    work = copy_run(step_runs['short'], tmp_path / 'killed')
    # a save killed with SIGKILL: its process is gone, its temp file stays
    proc = subprocess.run([sys.executable, '-c', 'import os; print('
                           'os.getpid())'], capture_output=True, text=True)
    dead = int(proc.stdout)
    host = re.sub(r'\W', '_', socket.gethostname())
    stale = [f'.epoch_3.pth.{host}-{dead}-0123abcd.tmp',
             '.epoch_2.pth.Ab3_x9Zq.tmp']  # the mkstemp name of < 0.2
    for name in stale:
        with open(osp.join(work, name), 'wb') as f:
            f.write(b'\0' * 1024)
    train(tiny_cfg(work, 2, STEP), resume=True)
    assert not [n for n in os.listdir(work) if n.endswith('.tmp')]
