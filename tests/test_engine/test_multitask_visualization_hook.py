# Copyright (c) mtlpartial contributors. All rights reserved.
"""MultiTaskVisualizationHook draws through the runner's visualizer."""
import os.path as osp
from types import SimpleNamespace

import pytest
from mmengine.visualization import Visualizer

from mtlpartial.engine.hooks import MultiTaskVisualizationHook
from mtlpartial.visualization import MultiTaskLocalVisualizer
from tests.test_visualization.test_multitask_visualizer import (  # noqa: F401
    TASKS, RecordingVisBackend, make_sample)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def fake_runner(tmp_path, visualizer, it=7):
    return SimpleNamespace(
        model=SimpleNamespace(tasks=TASKS), iter=it, visualizer=visualizer,
        work_dir=str(tmp_path))


def batch(ids):
    samples, images = [], []
    for i in ids:
        sample, image = make_sample(seed=i)
        sample.set_metainfo(dict(image_id=i))
        samples.append(sample)
        images.append(image[None])  # (V, 3, H, W)
    return dict(inputs=images, data_samples=samples), samples


def test_val_images_reach_the_backends_up_to_max_images(tmp_path):
    vis = MultiTaskLocalVisualizer(
        name='hook_vis', vis_backends=[dict(
            type='mtlpartial.RecordingVisBackend')], save_dir=str(tmp_path))
    runner = fake_runner(tmp_path, vis)
    hook = MultiTaskVisualizationHook(draw=True, max_images=3)
    hook.before_val(runner)
    for batch_idx, ids in enumerate(([0, 1], [2, 3], [4, 5])):
        data, outputs = batch(ids)
        hook.after_val_iter(runner, batch_idx, data, outputs)
    recorded = vis.get_backend('RecordingVisBackend').images
    assert [(name, step) for name, _, step in recorded] == [
        ('val_0', 7), ('val_1', 7), ('val_2', 7)]
    hook.before_val(runner)  # the count restarts each validation
    data, outputs = batch([0])
    hook.after_val_iter(runner, 0, data, outputs)
    assert len(recorded) == 4


def test_show_dir_writes_files_instead(tmp_path):
    vis = MultiTaskLocalVisualizer(
        name='hook_vis_show', vis_backends=[dict(
            type='mtlpartial.RecordingVisBackend')], save_dir=str(tmp_path))
    runner = fake_runner(tmp_path, vis)
    hook = MultiTaskVisualizationHook(draw=True, show_dir='shown',
                                      interval=2)
    hook.before_test(runner)
    for batch_idx, ids in enumerate(([0], [1], [2])):
        data, outputs = batch(ids)
        hook.after_test_iter(runner, batch_idx, data, outputs)
    assert sorted(p.name for p in (tmp_path / 'shown').iterdir()) == [
        'test_0.png', 'test_2.png']
    assert vis.get_backend('RecordingVisBackend').images == []


def test_plain_visualizer_is_a_clear_error(tmp_path):
    runner = fake_runner(tmp_path, Visualizer(name='hook_plain_vis'))
    data, outputs = batch([0])
    MultiTaskVisualizationHook(draw=False).after_val_iter(
        runner, 0, data, outputs)  # not drawing: no need for it
    with pytest.raises(TypeError, match='MultiTaskLocalVisualizer'):
        MultiTaskVisualizationHook(draw=True).after_val_iter(
            runner, 0, data, outputs)


def test_default_runtime_builds_the_multitask_visualizer(tmp_path):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mtlpartial.registry import VISUALIZERS
    cfg = Config.fromfile(osp.join(ROOT, 'configs', '_base_',
                                   'default_runtime.py'))
    init_default_scope('mtlpartial')
    vis = VISUALIZERS.build(
        dict(cfg.visualizer, name='runtime_vis', save_dir=str(tmp_path)))
    assert isinstance(vis, MultiTaskLocalVisualizer)
    assert list(vis._vis_backends) == ['LocalVisBackend']
