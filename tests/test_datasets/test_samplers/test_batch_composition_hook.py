# Copyright (c) mtlpartial contributors. All rights reserved.
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub

from mtlpartial.engine.hooks.batch_composition_hook import \
    BatchCompositionHook
from mtlpartial.registry import HOOKS
from mtlpartial.structures import MultiTaskDataSample

TASKS = ('semseg', 'depth', 'normal')


def batch(*labelled):
    return dict(data_samples=[
        MultiTaskDataSample(
            metainfo=dict(tasks=TASKS, labelled_tasks=tuple(names)))
        for names in labelled
    ])


class FakeLogger:

    def __init__(self):
        self.lines = []

    def info(self, msg):
        self.lines.append(msg)


def test_counts_shares_and_logs():
    hub = MessageHub.get_instance('test_batch_composition_hook')
    runner = SimpleNamespace(iter=0, logger=FakeLogger(), message_hub=hub)
    hook = HOOKS.build(dict(type='BatchCompositionHook', interval=2))
    assert isinstance(hook, BatchCompositionHook)
    hook.before_train(runner)
    batches = [
        batch(['semseg'], ['depth']),  # normal missing
        batch(['semseg', 'depth'], ['normal']),  # complete
        batch(['depth'], ['depth']),  # semseg, normal missing
        batch(['normal'], ['semseg']),  # depth missing
    ]
    for i, b in enumerate(batches):
        hook.after_train_iter(runner, i, data_batch=b)
        runner.iter += 1
        if i == 1:
            assert len(runner.logger.lines) == 1
            assert hub.get_scalar('train/missing_normal').current() == 0.5
            assert hub.get_scalar('train/missing_semseg').current() == 0.0
    assert len(runner.logger.lines) == 2
    # last interval: batches 3 and 4
    assert hub.get_scalar('train/missing_semseg').current() == 0.5
    assert hub.get_scalar('train/missing_depth').current() == 0.5
    assert hub.get_scalar('train/missing_normal').current() == 0.5
    recent, total = hook.shares()
    assert total == dict(semseg=0.25, depth=0.25, normal=0.5)
    assert recent == dict(semseg=0.0, depth=0.0, normal=0.0)  # reset
    assert 'normal 50.0% (all 50.0%)' in runner.logger.lines[-1]


def test_bad_interval():
    with pytest.raises(ValueError, match='interval'):
        BatchCompositionHook(interval=0)
