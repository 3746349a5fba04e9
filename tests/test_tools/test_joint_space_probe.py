# Copyright (c) mtlpartial contributors. All rights reserved.
"""tools/analysis_tools/joint_space_probe.py: the probe on tiny MTPSL and
JTR models, and the command on the synthetic MTPSL config."""
import json
import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope

from tests.utils.demo_inputs import build_demo_model, make_packed_batch
from tests.utils.tiny_runs import ROOT as REPO
from tests.utils.tiny_runs import initial_checkpoint
from tests.utils.tool_modules import load_tool

tool = load_tool('tools/analysis_tools/joint_space_probe.py',
                 'analysis_joint_space_probe')
# per image: its labelled tasks; MTPSL embeds every (unlabelled s,
# labelled t) pair: 2 + 2 + 2 items
LABELLED = [('semseg', ), ('depth', 'normal'), ('normal', )]
PAIRS = {'z_s~z_t', 'z_s~f', 'z_t~f', 'f~f'}
STATS = {'same', 'cross', 'centred_same', 'centred_cross', 'spread_a',
         'spread_b'}


def build_model(reg):
    init_default_scope('mtlpartial')
    torch.manual_seed(0)
    return build_demo_model(regularizers=[reg])


def test_probe_tiny_mtpsl():
    model = build_model(dict(type='MTPSL', channels=(8, 16),
                             convs_per_stage=(1, 1), in_width=8,
                             feat_channels=16))
    before = {k: v.clone() for k, v in model.state_dict().items()
              if 'running' not in k and 'num_batches' not in k}
    batches = [make_packed_batch(LABELLED, model.num_views, seed=s)
               for s in range(2)]
    out = tool.probe(model, batches)
    assert out['items'] == 12
    assert set(out) == PAIRS | {'items'}
    for key in PAIRS:
        assert set(out[key]) == STATS
    assert out['f~f']['centred_same'] == pytest.approx(1.0, abs=1e-5)
    # the regularizer's method is back, the weights are untouched
    reg = model.regularizers[0]
    assert 'embed' not in vars(reg)
    for k, v in model.state_dict().items():
        if k in before:
            assert torch.equal(v, before[k]), k


def test_probe_tiny_jtr():
    """One item per image; Y and Ŷ differ only where a task is labelled
    (label vs prediction), so the inputs are aligned per image; the
    latent is compared to itself exactly."""
    model = build_model(dict(type='JTR', channels=(8, 16),
                             convs_per_stage=(1, 1)))
    batches = [make_packed_batch(LABELLED, model.num_views, seed=s)
               for s in range(2)]
    out = tool.probe(model, batches)
    assert out['items'] == 6
    assert set(out) == {'y~y_hat', 'z_y~z_hat', 'z_y~z_y', 'items'}
    for key in ('y~y_hat', 'z_y~z_hat', 'z_y~z_y'):
        assert set(out[key]) == STATS
    assert out['z_y~z_y']['centred_same'] == pytest.approx(1.0, abs=1e-5)
    assert out['y~y_hat']['centred_same'] > out['y~y_hat']['centred_cross']
    assert 'frozen_latent' not in vars(model.regularizers[0])


def test_probe_errors():
    dgr = build_model(dict(type='DGR'))
    batch = make_packed_batch(LABELLED, dgr.num_views)
    with pytest.raises(TypeError, match='DGR has no joint space'):
        tool.probe(dgr, [batch])
    mtpsl = build_model(dict(type='MTPSL', channels=(8, 16),
                             convs_per_stage=(1, 1), in_width=8,
                             feat_channels=16))
    with pytest.raises(KeyError, match="no regularizer 'dgr'"):
        tool.probe(mtpsl, [batch], 'dgr')
    full = make_packed_batch([('semseg', 'depth', 'normal')] * 2,
                             mtpsl.num_views)
    with pytest.raises(ValueError, match='no \\(unlabelled, labelled\\)'):
        tool.probe(mtpsl, [full])


def test_main_synthetic_config(tmp_path):
    """The command end to end: build the config's model, load a
    checkpoint strictly, embed one training batch, write the JSON."""
    config = osp.join(REPO, 'configs', 'mtpsl', 'synthetic_onelabel_stable.py')
    ckpt = initial_checkpoint(config, str(tmp_path / 'model.pth'))
    out = str(tmp_path / 'probe.json')
    assert tool.main([config, ckpt, '--batches', '1', '--out', out]) == 0
    with open(out, encoding='utf-8') as f:
        result = json.load(f)
    assert result['items'] > 0
    assert set(result['z_s~z_t']) == STATS
    with pytest.raises(ValueError, match='--batches must be >= 1'):
        tool.main([config, ckpt, '--batches', '0'])


def test_training_batches_repeat_and_span_epochs():
    """Two draws with the same seed are the same batches (what the
    gradient probe pairs with full labels); more batches than an epoch
    holds go on into the next epoch."""
    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'supervised', 'synthetic_onelabel.py'))
    loader = cfg.train_dataloader
    loader.dataset.num_images = 20  # 2 batches of 10 per epoch
    first = tool.training_batches(loader, 3, seed=1)
    again = tool.training_batches(loader, 3, seed=1)
    assert len(first) == 3
    for a, b in zip(first, again):
        assert all(torch.equal(x, y) for x, y in zip(a['inputs'],
                                                      b['inputs']))
    ids = [sorted(s.metainfo['sample_idx'] for s in batch['data_samples'])
           for batch in first]
    assert sorted(ids[0] + ids[1]) == list(range(20))  # one epoch
    assert len(ids[2]) == 10
