# Copyright (c) mtlpartial contributors. All rights reserved.
"""``MultiTaskMetric`` takes its tasks from the evaluated dataset's
metainfo (``dataset_meta['task_cfgs']``), so configs do not repeat them."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

from mtlpartial.evaluation import MultiTaskMetric
from mtlpartial.registry import DATASETS, MODELS
from mtlpartial.tasks import build_tasks
from tests.utils.tiny_runs import ROOT
from tests.utils.tiny_runs import release_logger_streams  # noqa: F401

TASKS = [
    dict(name='semseg', type='SemSegTask', num_classes=4,
         class_names=('a', 'b', 'c', 'd')),
    dict(name='depth', type='DepthTask', stats=(2.0, 1.0)),
    dict(name='sal', type='BinaryTask', metric='maxF'),
    dict(name='edge', type='BinaryTask', metric='odsF'),
]


def synthetic_meta():
    init_default_scope('mtlpartial')
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'supervised', 'synthetic_onelabel.py'))
    ds = cfg.val_dataloader.dataset
    ds.num_images = 2
    return cfg, DATASETS.build(ds).metainfo


def test_dataset_publishes_plain_task_cfgs(tmp_path):
    cfg, meta = synthetic_meta()
    assert meta['task_cfgs'] == [t.to_dict() for t in cfg.tasks]
    assert all(type(t) is dict for t in meta['task_cfgs'])
    # plain data only: the metainfo goes into checkpoints (meta.dataset_meta)
    # that are loaded with weights_only=True
    path = str(tmp_path / 'meta.pth')
    torch.save(dict(meta=dict(dataset_meta=meta)), path)
    loaded = torch.load(path, weights_only=True)
    assert loaded['meta']['dataset_meta']['task_cfgs'] == meta['task_cfgs']


def test_metric_builds_the_tasks_of_dataset_meta():
    metric = MultiTaskMetric(baseline={'semseg/mIoU': 50., 'depth/abs_err':
                                       1., 'sal/maxF': 40., 'edge/odsF': 30.})
    assert metric.tasks is None
    metric.dataset_meta = dict(tasks=('semseg', 'depth', 'sal', 'edge'),
                               task_cfgs=TASKS)
    given = MultiTaskMetric(tasks=TASKS, baseline=metric.baseline)
    assert list(metric.tasks) == list(given.tasks)
    assert repr(list(metric.tasks.values())) == repr(
        list(given.tasks.values()))
    assert [type(m) for m in metric.meters.values()] == [
        type(m) for m in given.meters.values()]
    assert metric.delta_directions == given.delta_directions


def test_the_evaluator_sets_the_tasks_of_a_real_dataset():
    _, meta = synthetic_meta()
    evaluator = Evaluator(dict(type='MultiTaskMetric'))
    evaluator.dataset_meta = meta
    metric = evaluator.metrics[0]
    assert tuple(metric.tasks) == meta['tasks'] == ('semseg', 'depth',
                                                    'normal')
    assert metric.tasks['semseg'].class_names[0] == 'floor'


def test_given_tasks_win_over_dataset_meta():
    metric = MultiTaskMetric(tasks=TASKS[:2])
    metric.dataset_meta = dict(task_cfgs=TASKS)
    assert list(metric.tasks) == ['semseg', 'depth']


def test_bad_options_are_checked_when_the_tasks_arrive():
    metric = MultiTaskMetric(meters=dict(normal=dict()))
    with pytest.raises(ValueError, match=r"meters given for unknown tasks "
                       r"\['normal'\]"):
        metric.dataset_meta = dict(task_cfgs=TASKS)
    metric = MultiTaskMetric(baseline={'semseg/mIoU': 50.})
    with pytest.raises(ValueError, match='the baseline must give exactly'):
        metric.dataset_meta = dict(task_cfgs=TASKS)


def test_no_tasks_anywhere_is_a_clear_error():
    metric = MultiTaskMetric()
    with pytest.raises(RuntimeError, match='no tasks yet: pass `tasks`'):
        metric.process({}, [])
    with pytest.raises(RuntimeError, match='no tasks yet'):
        metric.compute_metrics([])
    with pytest.raises(ValueError, match=r'metainfo has no "task_cfgs" '
                       r"\(keys: \['classes', 'tasks'\]\).*"
                       'val_evaluator.tasks'):
        metric.dataset_meta = dict(tasks=('semseg', ), classes={})
    # a dataset given built task specs publishes task_cfgs=None
    with pytest.raises(ValueError, match='no "task_cfgs"'):
        metric.dataset_meta = dict(tasks=('semseg', ), task_cfgs=None)


def test_task_cfg_list_of_built_specs_is_none():
    from mtlpartial.tasks import task_cfg_list
    assert task_cfg_list(list(build_tasks(TASKS).values())) is None
    assert task_cfg_list(TASKS) == TASKS
    assert task_cfg_list({'depth': dict(type='DepthTask')}) == [
        dict(type='DepthTask', name='depth')]


def test_test_tool_evaluates_with_the_tasks_of_the_dataset(
        tmp_path, monkeypatch, capsys):
    """tools/test.py on a tiny config whose evaluator names no tasks."""
    config = tmp_path / 'tiny.py'
    base = osp.join(ROOT, 'configs', 'supervised', 'synthetic_onelabel.py')
    config.write_text(f"""
_base_ = {base!r}
model = dict(backbone=dict(filters=(8, 8, 8, 8, 8)), heads=dict(in_channels=8))
test_dataloader = dict(num_workers=0, persistent_workers=False,
                       dataset=dict(num_images=2))
visualizer = dict(vis_backends=[])
""")
    cfg = Config.fromfile(str(config))
    assert 'tasks' not in cfg.test_evaluator
    init_default_scope('mtlpartial')
    model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    spec = importlib.util.spec_from_file_location(
        'test_tool', osp.join(ROOT, 'tools', 'test.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setattr('sys.argv', ['test.py', str(config), ckpt,
                                     '--work-dir', str(tmp_path / 'work')])
    tool.main()
    out = capsys.readouterr().out
    assert out.count('Multi-task metrics:') == 1
    for key in ('semseg', 'mIoU', 'depth', 'abs_err', 'normal', 'mean'):
        assert key in out, key
