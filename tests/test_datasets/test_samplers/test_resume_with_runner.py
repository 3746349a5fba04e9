# Copyright (c) mtlpartial contributors. All rights reserved.
"""End to end: an mmengine run resumed mid-epoch sees the same batches."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mtlpartial.datasets.partial_labels import OneLabel
from mtlpartial.datasets.hooks import MidEpochResumeHook  # noqa: F401
from .fake_datasets import MaskOnlyDataset

SEEN = []


class IndexRecorder(BaseModel):
    """Records the sample indices of every train batch."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, idx=None, mode='loss'):
        SEEN.append(list(idx))
        return dict(loss=(self.w - 1).pow(2).sum())


class Interrupt(Exception):
    pass


def make_cfg(work_dir, dataset, by_epoch_loop=True):
    train_cfg = dict(by_epoch=True, max_epochs=3) if by_epoch_loop else \
        dict(by_epoch=False, max_iters=24)
    return dict(
        model=IndexRecorder(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=dataset,
            sampler=dict(
                type='TaskBalancedSampler',
                batch_size=4,
                infinite=not by_epoch_loop),
            batch_size=4,
            num_workers=0,
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=train_cfg,
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=5,
                            by_epoch=False),
            logger=dict(type='LoggerHook', interval=100)),
        custom_hooks=[dict(type='MidEpochResumeHook')],
        randomness=dict(seed=0),
        default_scope='mtlpartial',
        log_level='WARNING')


def run(cfg, interrupt_at=None, resume_from=None):
    SEEN.clear()
    cfg = copy.copy(cfg)
    if resume_from:
        cfg.update(resume=True, load_from=resume_from)
    runner = Runner(**cfg)
    if interrupt_at is not None:
        runner._hooks.append(_StopHook(interrupt_at))
    try:
        runner.train()
    except Interrupt:
        pass
    return [list(b) for b in SEEN], runner


class _StopHook:
    """Raise after the given number of train iterations."""
    priority = 'LOWEST'

    def __init__(self, at):
        self.at = at

    def __getattr__(self, name):
        return lambda *args, **kwargs: None

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            raise Interrupt


@pytest.mark.parametrize('by_epoch_loop', [True, False])
def test_resumed_run_sees_same_batches(tmp_path, by_epoch_loop):
    tasks = ('semseg', 'depth', 'normal')
    ds = MaskOnlyDataset(OneLabel(0).make_mask(tasks, 30), tasks)
    # 30 images, batch 4: 8 iterations per epoch (the last one of 2)
    full, _ = run(make_cfg(str(tmp_path / 'a'), ds, by_epoch_loop))
    assert len(full) == 24
    partial, _ = run(
        make_cfg(str(tmp_path / 'b'), ds, by_epoch_loop), interrupt_at=13)
    assert partial == full[:13]
    ckpt = osp.join(str(tmp_path / 'b'), 'iter_10.pth')
    assert osp.isfile(ckpt)
    resumed, runner = run(
        make_cfg(str(tmp_path / 'b'), ds, by_epoch_loop), resume_from=ckpt)
    # epoch loop: MidEpochResumeHook makes the sampler skip 10 batches of
    # epoch 1; iter loop: mmengine itself advances the dataloader 10 steps
    assert resumed == full[10:]
    assert runner.iter == 24


def test_without_hook_the_epoch_loop_replays(tmp_path):
    """Control: mmengine alone restarts the interrupted epoch."""
    tasks = ('semseg', 'depth', 'normal')
    ds = MaskOnlyDataset(OneLabel(0).make_mask(tasks, 30), tasks)
    cfg = make_cfg(str(tmp_path / 'a'), ds)
    full, _ = run(cfg)
    run(cfg, interrupt_at=13)
    cfg['custom_hooks'] = []
    resumed, _ = run(
        cfg, resume_from=osp.join(str(tmp_path / 'a'), 'iter_10.pth'))
    assert resumed == full[8:]  # epoch 1 from its first batch again
