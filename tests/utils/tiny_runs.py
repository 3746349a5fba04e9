# Copyright (c) mtlpartial contributors. All rights reserved.
"""Tiny in-process training runs of the embedded synthetic config.

8 images of 64x80, batch 4 (2 iterations per epoch), an 8-channel SegNet,
no validation before the last epoch, ``num_workers=0``: a run takes about
a second per epoch on one CPU core and is exactly reproducible.
"""
import itertools
import logging
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from mtlpartial.registry import HOOKS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'supervised', 'synthetic_onelabel.py')

TINY = dict(
    train_dataloader=dict(
        batch_size=4, num_workers=0, persistent_workers=False,
        dataset=dict(num_images=8)),
    val_dataloader=dict(
        num_workers=0, persistent_workers=False, dataset=dict(num_images=4)),
    test_dataloader=dict(
        num_workers=0, persistent_workers=False, dataset=dict(num_images=4)),
    model=dict(
        backbone=dict(filters=[8, 8, 8, 8, 8]), heads=dict(in_channels=8)),
    # checkpoints at even epochs and the last one (each save formats the
    # whole config with yapf, about a second)
    default_hooks=dict(
        visualization=dict(draw=False), logger=dict(interval=1),
        checkpoint=dict(interval=2)),
    # no vis backend: LocalVisBackend would format the config once more
    visualizer=dict(vis_backends=[]),
    randomness=dict(seed=3),
    log_level='WARNING')

#: ``--cfg-options`` of a one-epoch tool run of the synthetic configs: 8
#: training images in batches of 4, 4 validation images, no workers
TINY_CLI_OPTIONS = [
    'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
    'train_dataloader.batch_size=4', 'train_dataloader.dataset.num_images=8',
    'val_dataloader.dataset.num_images=4', 'val_dataloader.batch_size=4',
    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.persistent_workers=False',
    'default_hooks.logger.interval=1'
]

#: learning rate at the start of every epoch, per work dir
LRS: Dict[str, List[float]] = {}
_RUN_IDS = itertools.count()


@HOOKS.register_module(force=True)
class RecordEpochLR(Hook):
    """Appends the lr of the first parameter group at each epoch start."""
    priority = 'LOWEST'

    def before_train_epoch(self, runner) -> None:
        lrs = LRS.setdefault(runner.work_dir, [])
        lrs.append(runner.optim_wrapper.param_groups[0]['lr'])


def tiny_cfg(work_dir: str, max_epochs: int,
             options: Optional[dict] = None,
             extra_hooks: Sequence[dict] = ()) -> Config:
    """The tiny config; ``options`` are merged like ``--cfg-options``."""
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(TINY)
    cfg.merge_from_dict(
        dict(train_cfg=dict(max_epochs=max_epochs, val_interval=100)))
    cfg.merge_from_dict(options or {})
    cfg.custom_hooks = list(cfg.custom_hooks) + [
        dict(type='RecordEpochLR')
    ] + list(extra_hooks)
    cfg.work_dir = work_dir
    return cfg


def train(cfg: Config, resume: bool = False, runner_type=None):
    """Train (resuming the latest checkpoint with ``resume``); returns the
    runner and the final weights."""
    from mmengine.runner import Runner
    cfg.resume = resume
    cfg.experiment_name = f'{osp.basename(cfg.work_dir)}_{next(_RUN_IDS)}'
    LRS.pop(cfg.work_dir, None)
    if runner_type is not None:
        from mtlpartial.registry import RUNNERS
        cfg.runner_type = runner_type
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()
    weights = {k: v.detach().clone()
               for k, v in runner.model.state_dict().items()}
    return runner, weights


@pytest.fixture(autouse=True)
def release_logger_streams():
    """After a test, point the console handlers of the runners' loggers
    back at the process stdout: under ``capsys`` they hold the test's
    capture stream, which is closed afterwards, and a later test that logs
    through ``MMLogger.get_current_instance()`` would hit it."""
    yield
    for logger in list(MMLogger._instance_dict.values()):
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:
                handler.stream = sys.__stdout__  # the old one may be closed


def initial_checkpoint(config: str, path: str) -> str:
    """Save the initial weights of ``config``'s model (built by
    ``init_model``, which warns that no checkpoint is given) as a
    checkpoint at ``path``; returns ``path``."""
    from mmengine.runner import save_checkpoint

    from mtlpartial.apis import init_model
    with pytest.warns(UserWarning, match='no checkpoint'):
        model = init_model(config)
    save_checkpoint(dict(state_dict=model.state_dict(), meta={}), path)
    return path
