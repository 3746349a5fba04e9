# Copyright (c) mtlpartial contributors. All rights reserved.
"""MultiTaskLocalVisualizer: titled panels, legend, colour bar, unlabelled
cells, and images handed to every vis backend."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.visualization import BaseVisBackend

from mtlpartial.registry import VISBACKENDS
from mtlpartial.structures import MultiTaskDataSample
from mtlpartial.tasks import build_tasks
from mtlpartial.testing import random_gt
from mtlpartial.visualization import MultiTaskLocalVisualizer

TASKS = build_tasks([
    dict(name='semseg', type='SemSegTask', num_classes=3,
         class_names=('floor', 'wall', 'box')),
    dict(name='depth', type='DepthTask'),
    dict(name='normal', type='NormalTask'),
    dict(name='edge', type='BinaryTask'),
])
H, W = 24, 32


def make_sample(labelled=('semseg', 'normal'), seed=0):
    g = torch.Generator().manual_seed(seed)
    sample = MultiTaskDataSample(metainfo=dict(
        tasks=tuple(TASKS), labelled_tasks=tuple(labelled)))
    for t in labelled:
        sample.set_gt(t, random_gt(TASKS[t], 1, (H, W), g))
    for t in TASKS:
        pred = random_gt(TASKS[t], 1, (H, W), g)[0]
        sample.set_pred(t, pred)
    return sample, torch.rand(3, H, W, generator=g)


@VISBACKENDS.register_module(force=True)
class RecordingVisBackend(BaseVisBackend):
    """Keeps every image it is given."""

    def __init__(self, save_dir=None):
        super().__init__(save_dir)
        self.images = []

    def _init_env(self):
        pass

    @property
    def experiment(self):
        return self

    def add_image(self, name, image, step=0, **kwargs):
        self.images.append((name, image.copy(), step))


def titles(fig):
    return [ax.get_title() for ax in fig.axes if ax.get_title()]


def test_figure_titles_legend_colour_bar_and_unlabelled_cells():
    vis = MultiTaskLocalVisualizer(name='vis_figure')
    sample, image = make_sample()
    fig = vis.make_figure(image, sample, TASKS, title='img 7')
    assert fig._suptitle.get_text() == 'img 7'
    assert titles(fig) == [
        'input', 'semseg: ground truth', 'depth: ground truth',
        'normal: ground truth', 'edge: ground truth', 'semseg: prediction',
        'depth: prediction', 'normal: prediction', 'edge: prediction'
    ]
    # depth and edge are unlabelled: marked, not drawn as a black tile
    texts = {ax.get_title(): [t.get_text() for t in ax.texts]
             for ax in fig.axes}
    assert texts['depth: ground truth'] == ['unlabelled']
    assert texts['edge: ground truth'] == ['unlabelled']
    assert texts['semseg: ground truth'] == []
    # one class legend (all class names), one depth colour bar
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert len(legends) == 1
    assert [t.get_text() for t in legends[0].get_texts()] == [
        'floor', 'wall', 'box']
    colour_bars = [ax for ax in fig.axes if ax.get_ylabel() == 'depth']
    assert len(colour_bars) == 1
    # the depth prediction is drawn with the colour map, not as RGB
    depth_pred = next(ax for ax in fig.axes
                      if ax.get_title() == 'depth: prediction')
    assert depth_pred.images[0].get_array().ndim == 2


def test_prediction_only_and_ignored_pixels_in_legend():
    vis = MultiTaskLocalVisualizer(name='vis_pred_only')
    sample, image = make_sample(labelled=('semseg', ))
    gt = sample.get_gt('semseg').clone()
    gt[..., :2, :] = 255
    sample.set_gt('semseg', gt)
    fig = vis.make_figure(image, sample, TASKS, draw_gt=False)
    assert titles(fig) == ['input'] + [f'{t}: prediction' for t in TASKS]
    fig = vis.make_figure(image, sample, TASKS)
    legend = next(ax.get_legend() for ax in fig.axes if ax.get_legend())
    assert legend.get_texts()[-1].get_text() == 'ignored'
    with pytest.raises(ValueError, match='both False'):
        vis.make_figure(image, sample, TASKS, draw_gt=False,
                        draw_pred=False)


def test_small_inputs_are_upscaled():
    vis = MultiTaskLocalVisualizer(name='vis_size', cell_height=200)
    sample, image = make_sample()
    drawn = vis.draw_multitask(image, sample, TASKS)
    assert drawn.dtype == np.uint8 and drawn.shape[2] == 3
    # two rows of 200-pixel cells (the input is 24 pixels high)
    assert drawn.shape[0] >= 2 * 200
    assert drawn.shape[1] >= 5 * 200 * W / H


def test_every_backend_receives_the_image(tmp_path):
    vis = MultiTaskLocalVisualizer(
        name='vis_backends',
        vis_backends=[dict(type='LocalVisBackend'),
                      dict(type='mtlpartial.RecordingVisBackend')],
        save_dir=str(tmp_path))
    sample, image = make_sample()
    vis.add_datasample('val_3', image, sample, tasks=TASKS, step=12)
    drawn = vis.get_image()
    local = tmp_path / 'vis_data' / 'vis_image' / 'val_3_12.png'
    assert local.is_file()
    np.testing.assert_array_equal(
        cv2.imread(str(local))[..., ::-1], drawn)
    recorded = vis.get_backend('RecordingVisBackend').images
    assert len(recorded) == 1 and recorded[0][0] == 'val_3' and \
        recorded[0][2] == 12
    np.testing.assert_array_equal(recorded[0][1], drawn)


def test_out_file_instead_of_backends(tmp_path):
    vis = MultiTaskLocalVisualizer(
        name='vis_out_file',
        vis_backends=[dict(type='mtlpartial.RecordingVisBackend')],
        save_dir=str(tmp_path))
    sample, image = make_sample()
    out = tmp_path / 'show' / 'test_0.png'
    vis.add_datasample('test_0', image, sample, tasks=TASKS,
                       out_file=str(out))
    assert out.is_file()
    assert vis.get_backend('RecordingVisBackend').images == []
    with pytest.raises(ValueError, match='task specs'):
        vis.add_datasample('test_0', image, sample)


def test_tensorboard_backend_receives_the_image(tmp_path):
    pytest.importorskip('tensorboard')
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    vis = MultiTaskLocalVisualizer(
        name='vis_tensorboard',
        vis_backends=[dict(type='LocalVisBackend'),
                      dict(type='TensorboardVisBackend')],
        save_dir=str(tmp_path))
    sample, image = make_sample()
    vis.add_datasample('val_0', image, sample, tasks=TASKS, step=5)
    vis.close()
    log_dir = tmp_path / 'vis_data'
    assert (log_dir / 'vis_image' / 'val_0_5.png').is_file()
    events = [f for f in os.listdir(log_dir) if 'tfevents' in f]
    assert events
    acc = EventAccumulator(osp.join(str(log_dir), events[0]))
    acc.Reload()
    assert 'val_0' in acc.Tags()['images']
    assert acc.Images('val_0')[0].step == 5
