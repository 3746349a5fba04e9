# Copyright (c) mtlpartial contributors. All rights reserved.
import random

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from mtlpartial.datasets.synthetic.synthetic_dataset import \
    SyntheticSceneDataset
from mtlpartial.registry import DATASETS

init_default_scope('mtlpartial')

PACK = [dict(type='PackMultiTaskInputs')]


def test_synthetic_default_tasks_and_shapes():
    ds = DATASETS.build(
        dict(
            type='SyntheticSceneDataset',
            num_images=3,
            height=24,
            width=32,
            pipeline=PACK))
    assert ds.task_names == ('semseg', 'depth', 'normal')
    assert len(ds) == 3 and ds.label_mask.all()
    out = ds[2]
    assert out['inputs'].shape == (1, 3, 24, 32)
    s = out['data_samples']
    assert s.get_gt('semseg').dtype == torch.int64
    assert s.get_gt('normal').shape == (1, 3, 24, 32)
    assert s.image_id == 2 and s.sample_idx == 2


def test_synthetic_deterministic_and_splits():
    kw = dict(num_images=2, height=16, width=20, seed=3, pipeline=PACK)
    a = SyntheticSceneDataset(**kw)[1]
    b = SyntheticSceneDataset(cache=False, **kw)[1]
    assert torch.equal(a['inputs'], b['inputs'])
    assert torch.equal(a['data_samples'].gt_depth,
                       b['data_samples'].gt_depth)
    c = SyntheticSceneDataset(split='val', **kw)[1]
    assert not torch.equal(a['inputs'], c['inputs'])
    d = SyntheticSceneDataset(**{**kw, 'seed': 4})[1]
    assert not torch.equal(a['inputs'], d['inputs'])


def test_synthetic_task_subset_and_partial_labels():
    ds = SyntheticSceneDataset(
        num_images=6,
        height=16,
        width=20,
        tasks=dict(
            edge=dict(type='BinaryTask', pos_weight=0.95, metric='odsF'),
            saliency=dict(type='BinaryTask')),
        partial_labels=dict(type='OneLabel', seed=1),
        pipeline=PACK)
    assert (ds.label_mask.sum(1) == 1).all()
    for i in range(len(ds)):
        s = ds[i]['data_samples']
        (task, ) = s.labelled_tasks
        other = 'edge' if task == 'saliency' else 'saliency'
        assert f'gt_{other}' not in s
        assert set(np.unique(s.get_gt(task).numpy())) <= {0., 1.}
    with pytest.raises(KeyError, match=r"unknown task.*'height'"):
        SyntheticSceneDataset(
            num_images=2, tasks=dict(height=dict(type='DepthTask')))


def test_synthetic_pipeline_reproducible():
    pipeline = [
        dict(type='RandomScaleCrop'),
        dict(type='RandomFlip'),
        dict(
            type='MultiView',
            num_views=3,
            view_transforms=[dict(type='RandomScaleCrop')]),
        dict(type='ImgAugment'),
        dict(type='PackMultiTaskInputs')
    ]
    ds = SyntheticSceneDataset(
        num_images=2, height=24, width=32, pipeline=pipeline)

    def draw():
        random.seed(5)
        np.random.seed(5)
        return [ds[i] for i in range(2)]

    first, second = draw(), draw()
    for x, y in zip(first, second):
        assert x['inputs'].shape == (3, 3, 24, 32)
        assert torch.equal(x['inputs'], y['inputs'])
        assert torch.equal(x['data_samples'].gt_normal,
                           y['data_samples'].gt_normal)
        assert torch.equal(x['data_samples'].view_boxes,
                           y['data_samples'].view_boxes)
