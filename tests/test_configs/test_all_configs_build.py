# Copyright (c) mtlpartial contributors. All rights reserved.
"""Every config parses, names registered components, and builds its model
(the paper-size models are built on the meta device: no memory, no init);
every short name is an alias of a long-named config whose name tells its
batch size and schedule (docs/configs.md, naming)."""
import ast
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mtlpartial.registry import (DATASETS, METRICS, MODELS, PARTIAL_LABELS,
                                 TRANSFORMS)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ALL = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)
#: {method}[-{variant}]_{backbone}_{gpus}xb{batch}-{schedule}_{dataset}
#: [-{crop}]_{setting}.py
LONG_NAME = re.compile(
    r'^(?P<method>[a-z0-9]+(-[a-z0-9]+)*)_(?P<backbone>[a-z0-9]+(-[a-z0-9]+)*)'
    r'_(?P<gpus>\d+)xb(?P<batch>\d+)-(?P<schedule>\d+e|demo)'
    r'_(?P<dataset>[a-z0-9]+(-[a-z]+)*)(-(?P<crop>\d+x\d+))?'
    r'_(?P<setting>full|onelabel|random)\.py$')
LONG = [p for p in ALL if LONG_NAME.match(osp.basename(p))]
DEFAULT_HOOKS = [h['type'] for h in Config.fromfile(osp.join(
    ROOT, 'configs', '_base_', 'default_runtime.py')).custom_hooks]
SHORT = [p for p in ALL if p not in LONG]


def alias_target(path):
    """The config a short-name file inherits (it holds only ``_base_``)."""
    tree = ast.parse(open(path, encoding='utf-8').read())
    node = tree.body[0] if len(tree.body) == 1 else None
    assert isinstance(node, ast.Assign) and isinstance(
        node.value, ast.Constant) and node.targets[0].id == '_base_', (
            f'{path}: a config name not of the form {LONG_NAME.pattern} '
            "must be a short-name alias holding only _base_ = './<long "
            "name>.py' (docs/configs.md, naming)")
    return osp.normpath(osp.join(osp.dirname(path), node.value.value))


def test_there_are_configs_for_every_method_and_setting():
    names = {osp.relpath(p, osp.join(ROOT, 'configs')) for p in ALL}
    for method in ('mtpsl', 'jtr', 'dgr', 'ssl', 'directmap',
                   'perceptualmap', 'diffusionmtl'):
        for setting in ('nyuv2_onelabel', 'nyuv2_random',
                        'cityscapes_onelabel', 'pascal_onelabel',
                        'pascal_random', 'synthetic_onelabel',
                        'synthetic_random'):
            assert f'{method}/{setting}.py' in names
    assert 'supervised/synthetic_onelabel.py' in names
    assert 'supervised/synthetic_full.py' in names


def test_short_names_are_aliases():
    """A file holding only ``_base_`` resolves to its base: the short names
    are the same configs as the long-named ones they inherit."""
    targets = [alias_target(p) for p in SHORT]
    for path, target in zip(SHORT, targets):
        assert target in LONG, f'{path} must inherit a long-named config'
    assert len(set(targets)) == len(targets), 'two short names, one config'
    for rel in ('supervised/synthetic_onelabel.py', 'jtr/nyuv2_random.py'):
        path = osp.join(ROOT, 'configs', rel)
        assert Config.fromfile(path).to_dict() == Config.fromfile(
            alias_target(path)).to_dict()


@pytest.mark.parametrize('path', LONG, ids=[osp.basename(p) for p in LONG])
def test_config_builds(path):
    cfg = Config.fromfile(path)
    name = LONG_NAME.match(osp.basename(path))
    assert name['method'].split('-')[0] == osp.basename(osp.dirname(path)) \
        or osp.basename(osp.dirname(path)) == 'balancers'
    assert int(name['batch']) == cfg.train_dataloader.batch_size
    if name['schedule'] != 'demo':
        assert int(name['schedule'][:-1]) == cfg.train_cfg.max_epochs
    assert cfg.default_scope == 'mtlpartial'
    # a config that sets custom_hooks keeps the default runtime's (mmengine
    # replaces lists: a copied list silently lost RegularizerDiagnosticsHook)
    hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
    missing = [h for h in DEFAULT_HOOKS if h not in hooks]
    assert not missing, f'{path}: custom_hooks drop {missing}'
    init_default_scope('mtlpartial')
    ds = cfg.train_dataloader.dataset
    assert ds.type in DATASETS
    for t in ds.pipeline:
        assert t['type'] in TRANSFORMS, t['type']
    pl = ds.get('partial_labels')
    if isinstance(pl, dict):
        assert pl['type'] in PARTIAL_LABELS
        assert name['setting'] in ('onelabel', 'random') or \
            pl['type'] == 'Full'
    assert cfg.val_evaluator.type in METRICS
    # the metric takes the tasks of the dataset it evaluates
    assert list(cfg.val_dataloader.dataset.tasks) == list(cfg.model.tasks)
    assert list(cfg.test_dataloader.dataset.tasks) == list(cfg.model.tasks)
    assert list(ds.tasks) == list(cfg.model.tasks)
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    views = max([1] + [r.num_views for r in model.regularizers])
    mv = [t for t in ds.pipeline if t['type'] == 'MultiView']
    assert (mv[0].num_views if mv else 1) >= views
