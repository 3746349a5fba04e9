# Copyright (c) mtlpartial contributors. All rights reserved.
"""Every config parses, names registered components, and builds its model
(the paper-size models are built on the meta device: no memory, no init)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mtlpartial.registry import (DATASETS, METRICS, MODELS, PARTIAL_LABELS,
                                 TRANSFORMS)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


def test_there_are_configs_for_every_method_and_setting():
    names = {osp.relpath(p, osp.join(ROOT, 'configs')) for p in CONFIGS}
    for method in ('mtpsl', 'jtr', 'dgr', 'ssl', 'directmap',
                   'perceptualmap', 'diffusionmtl'):
        for setting in ('nyuv2_onelabel', 'nyuv2_random',
                        'cityscapes_onelabel', 'pascal_onelabel',
                        'pascal_random', 'synthetic_onelabel'):
            assert f'{method}/{setting}.py' in names
    assert 'jtr/nyuv2_random.py' in names
    assert 'supervised/synthetic_onelabel.py' in names


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mtlpartial'
    init_default_scope('mtlpartial')
    ds = cfg.train_dataloader.dataset
    assert ds.type in DATASETS
    for t in ds.pipeline:
        assert t['type'] in TRANSFORMS, t['type']
    pl = ds.get('partial_labels')
    if isinstance(pl, dict):
        assert pl['type'] in PARTIAL_LABELS
    assert cfg.val_evaluator.type in METRICS
    assert list(cfg.val_evaluator.tasks) == list(cfg.model.tasks)
    assert list(ds.tasks) == list(cfg.model.tasks)
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    views = max([1] + [r.num_views for r in model.regularizers])
    mv = [t for t in ds.pipeline if t['type'] == 'MultiView']
    assert (mv[0].num_views if mv else 1) >= views
