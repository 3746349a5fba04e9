# Copyright (c) mtlpartial contributors. All rights reserved.
"""Model, datasets and metrics must agree on the tasks before a run starts
(issue 12, case 5)."""
import os

import pytest
from mmengine.runner import Runner

from tests.utils.tiny_runs import tiny_cfg
from tests.utils.tiny_runs import release_logger_streams  # noqa: F401

SEMSEG = dict(name='semseg', type='SemSegTask', num_classes=6)
DEPTH = dict(name='depth', type='DepthTask')
NORMAL = dict(name='normal', type='NormalTask')


def start(tmp_path, options, mode='train'):
    cfg = tiny_cfg(str(tmp_path), 1, options)
    runner = Runner.from_cfg(cfg)
    getattr(runner, mode)()


def test_extra_model_task_stops_before_training(tmp_path):
    # the synthetic data has no edge task: its loss would be 0 forever
    tasks = [SEMSEG, DEPTH, NORMAL, dict(name='edge', type='BinaryTask')]
    with pytest.raises(ValueError, match=r"train_dataloader.dataset has no "
                       r"task\(s\) \['edge'\] of model.tasks.*loss would "
                       "be 0 forever"):
        start(tmp_path, dict(model=dict(tasks=tasks)))
    assert not [f for f in os.listdir(tmp_path) if f.endswith('.pth')]


def test_missing_or_renamed_task_stops_before_training(tmp_path):
    renamed = [SEMSEG, DEPTH, dict(name='normals', type='NormalTask')]
    with pytest.raises(ValueError) as info:
        start(tmp_path, dict(model=dict(tasks=renamed)))
    text = str(info.value)
    assert "has task(s) ['normal'] that model.tasks" in text
    # the validation set and the metric are checked too, not epochs later
    assert 'val_dataloader.dataset' in text
    assert 'val_evaluator (MultiTaskMetric)' in text


def test_class_count_mismatch(tmp_path):
    tasks = [dict(SEMSEG, num_classes=13), DEPTH, NORMAL]
    with pytest.raises(ValueError, match='task "semseg" has 6 classes in '
                       'train_dataloader.dataset but num_classes=13'):
        start(tmp_path, dict(model=dict(tasks=tasks)))


def test_test_run_checks_the_test_set(tmp_path):
    tasks = [SEMSEG, DEPTH]
    with pytest.raises(ValueError, match='test_dataloader.dataset has '
                       r"task\(s\) \['normal'\]"):
        start(tmp_path, dict(model=dict(tasks=tasks),
                             load_from=None), mode='test')
