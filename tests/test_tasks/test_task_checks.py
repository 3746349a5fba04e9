# Copyright (c) mtlpartial contributors. All rights reserved.
"""Task specs: unit normals (issue 12, case 7) and the order of tasks given
as a dict (case 4)."""
import logging

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger

from mtlpartial.tasks import build_tasks
from mtlpartial.tasks import builder
from mtlpartial.tasks.normal_task import NormalTask


def unit_normals(h=6, w=5, seed=0):
    rng = np.random.default_rng(seed)
    n = rng.normal(size=(h, w, 3))
    return (n / np.linalg.norm(n, axis=2, keepdims=True)).astype(np.float32)


def test_scaled_normals_are_refused():
    task = NormalTask('normal')
    n = unit_normals()
    n[0, 0] = 0  # invalid pixel
    assert task.validate_gt(n, 'n.npy') is not None
    with pytest.raises(ValueError, match=r'n.npy: normals of task "normal" '
                       r'must be unit vectors.*median length 0.3'):
        task.validate_gt(n * 0.3, 'n.npy')
    with pytest.raises(ValueError, match='median length 0.5'):
        task.validate_gt(n * 0.5, "n.npy")


def test_normals_within_tolerance_are_accepted():
    task = NormalTask('normal')
    n = unit_normals()
    # 8-bit quantisation and a few vectors shortened by resizing at edges
    q = np.round((n + 1) / 2 * 255) / 255 * 2 - 1
    q[0, :] *= 0.4
    assert task.validate_gt(q, 'q.png').shape == (6, 5, 3)
    with pytest.raises(ValueError, match='maximum 1.1'):
        task.validate_gt(np.clip(n * 1.1, -1, 1), 'long.npy')
    assert NormalTask('normal', unit_tolerance=0.8).validate_gt(
        n * 0.3, 'n.npy') is not None
    with pytest.raises(ValueError, match='unit_tolerance'):
        NormalTask('normal', unit_tolerance=1.5)


@pytest.fixture
def warnings_of_mmengine():
    records = []

    class Keep(logging.Handler):

        def emit(self, record):
            records.append(record)

    logger = MMLogger.get_current_instance()
    handler = Keep(level=logging.WARNING)
    logger.addHandler(handler)
    getattr(builder, '_WARNED_DICT_ORDERS', set()).clear()
    yield records
    logger.removeHandler(handler)


def test_tasks_as_a_dict_warn_about_the_dumped_order(warnings_of_mmengine,
                                                     tmp_path):
    specs = dict(semseg=dict(type='SemSegTask', num_classes=3),
                 depth=dict(type='DepthTask'))
    assert list(build_tasks(specs)) == ['semseg', 'depth']
    build_tasks(specs)  # once per order and process
    texts = [r.getMessage() for r in warnings_of_mmengine]
    assert len(texts) == 1
    assert "order ['semseg', 'depth']" in texts[0]
    assert "would order the tasks ['depth', 'semseg']" in texts[0]
    assert "tasks = [dict(name='semseg', type=...)" in texts[0]
    # the reason: a dumped config sorts dict keys
    cfg = Config(dict(tasks=specs))
    cfg.dump(str(tmp_path / 'dumped.py'))
    assert list(Config.fromfile(str(tmp_path / 'dumped.py')).tasks) == [
        'depth', 'semseg']


def test_tasks_as_a_list_or_a_sorted_dict_do_not_warn(warnings_of_mmengine):
    build_tasks([dict(name='semseg', type='SemSegTask', num_classes=3),
                 dict(name='depth', type='DepthTask')])
    build_tasks(dict(depth=dict(type='DepthTask'),
                     semseg=dict(type='SemSegTask', num_classes=3)))
    assert warnings_of_mmengine == []


def test_task_in_a_list_needs_a_name():
    with pytest.raises(KeyError, match=r'tasks\[1\]: a task in a list needs '
                       'a "name" key'):
        build_tasks([dict(name='depth', type='DepthTask'),
                     dict(type='NormalTask')])
    with pytest.raises(ValueError, match='duplicate task names'):
        build_tasks([dict(name='depth', type='DepthTask')] * 2)
