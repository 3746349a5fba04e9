# Copyright (c) mtlpartial contributors. All rights reserved.
import copy
import logging

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mtlpartial.models import multitask_model
from mtlpartial.registry import MODELS
from tests.utils.demo_inputs import (DEMO_TASKS, build_demo_model,
                                     make_packed_batch)

init_default_scope('mtlpartial')


def build_model(**kwargs):
    return build_demo_model(**kwargs)


LABELLED = [('semseg', ), ('depth', 'normal'), ('normal', ), ('semseg', )]


def per_sample_losses(model, data):
    """Reference: per-sample loss of every labelled (image, task) pair,
    computed one image at a time with the task specs."""
    batch = model.data_preprocessor(data, True)
    preds = model(batch['inputs'], mode='tensor')
    out = {}
    for i, sample in enumerate(data['data_samples']):
        for t in sample.labelled_tasks:
            gt = sample.get_gt(t)[0][None]
            out[(i, t)] = model.tasks[t].loss(preds[t][i:i + 1], gt)[0]
    return out


@pytest.mark.parametrize('normalize', ['image', 'batch', 'task'])
def test_loss_normalisation(normalize):
    torch.manual_seed(0)
    model = build_model(normalize=normalize).eval()  # BN in eval: per-image
    data = make_packed_batch(LABELLED)
    ref = per_sample_losses(model, data)
    batch = model.data_preprocessor(data, True)
    losses = model(**batch, mode='loss')
    b = len(LABELLED)
    for t in model.tasks:
        pairs = {i: v for (i, tt), v in ref.items() if tt == t}
        if normalize == 'image':
            exp = sum(v / len(LABELLED[i]) for i, v in pairs.items()) / b
        elif normalize == 'batch':
            exp = sum(pairs.values()) / b
        else:
            exp = sum(pairs.values()) / len(pairs)
        assert torch.allclose(losses[f'loss_{t}'], exp, atol=1e-6), t
    if normalize == 'image':  # MTPSL Eq. (1)
        eq1 = sum(
            sum(ref[(i, t)] for t in names) / len(names)
            for i, names in enumerate(LABELLED)) / b
        total = sum(losses[f'loss_{t}'] for t in model.tasks)
        assert torch.allclose(total, eq1, atol=1e-6)


def test_unlabelled_labels_never_reach_the_loss():
    model = build_model()
    data = make_packed_batch(LABELLED)
    # the samples do not even carry unlabelled ground truth
    assert 'gt_depth' not in data['data_samples'][0]
    with pytest.raises(KeyError, match='not labelled'):
        data['data_samples'][0].set_gt('depth', torch.zeros(1, 1, 32, 32))
    batch = model.data_preprocessor(data, True)['data_samples']
    assert batch.target('semseg').index.tolist() == [0, 3]
    assert batch.target('depth').index.tolist() == [1]
    assert batch.target('depth').data.shape == (1, 1, 32, 32)


def test_task_without_labels_gives_zero_loss_without_graph():
    model = build_model()
    data = make_packed_batch([('semseg', ), ('semseg', 'depth')])
    batch = model.data_preprocessor(data, True)
    losses = model(**batch, mode='loss')
    assert not losses['loss_normal'].requires_grad
    assert float(losses['loss_normal']) == 0.0
    assert losses.task_active.tolist() == [True, True, False]


def test_predict_and_tensor_modes():
    model = build_model().eval()
    data = make_packed_batch([('semseg', 'depth', 'normal')] * 2)
    out = model.test_step(data)
    assert out[0].pred_semseg.shape == (1, 32, 32)
    assert out[0].pred_semseg.dtype == torch.int64
    assert out[0].pred_depth.shape == (1, 32, 32)
    normals = out[1].pred_normal
    assert torch.allclose(normals.norm(dim=0), torch.ones(32, 32), atol=1e-4)
    tensors = model(torch.rand(2, 3, 32, 32), mode='tensor')
    assert set(tensors) == {'semseg', 'depth', 'normal'}
    with pytest.raises(RuntimeError, match='Invalid mode'):
        model(torch.rand(1, 3, 32, 32), mode='bad')


def test_train_step_updates_and_nan_guard():
    torch.manual_seed(0)
    model = build_model()
    ow = build_optim_wrapper(
        model,
        dict(type='MultiTaskOptimWrapper',
             constructor='MultiTaskOptimWrapperConstructor',
             optimizer=dict(type='SGD', lr=0.1)))
    data = make_packed_batch(LABELLED)
    before = copy.deepcopy(model.state_dict())
    log = model.train_step(data, ow)
    assert set(log) >= {'loss', 'loss_semseg', 'loss_depth', 'loss_normal'}
    after = model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    # a NaN loss stops the run before the update
    with torch.no_grad():
        model.heads['depth'].layers[-1].bias.fill_(float('nan'))
    params = {k: v.detach().clone() for k, v in model.named_parameters()}
    with pytest.raises(FloatingPointError, match='loss_depth'):
        model.train_step(data, ow)
    for k, v in model.named_parameters():  # no update happened
        assert torch.equal(v, params[k]) or torch.isnan(v).any(), k


def test_mmseg_backbone_inside_model():
    model = MODELS.build(
        dict(
            type='MultiTaskModel',
            tasks=DEMO_TASKS,
            backbone=dict(
                type='mmseg.ResNetV1c',
                depth=18,
                out_indices=(2, 3),
                norm_cfg=dict(type='BN')),
            heads=dict(type='ConvHead', in_channels=512, channels=32),
            feat_index=-1))
    assert type(model.backbone).__name__ == 'ResNetV1c'
    data = make_packed_batch(LABELLED, h=64, w=64)
    batch = model.data_preprocessor(data, True)
    losses = model(**batch, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())


def test_bad_configs():
    with pytest.raises(KeyError, match='unknown tasks'):
        build_model(heads=dict(semseg=dict(type='ConvHead', in_channels=8),
                               bogus=dict(type='ConvHead', in_channels=8)))
    with pytest.raises(KeyError, match='no head for task "depth"'):
        build_model(heads=dict(semseg=dict(type='ConvHead', in_channels=8)))
    with pytest.raises(ValueError, match='normalize'):
        build_model(normalize='mean')
    with pytest.raises(KeyError, match='tasks.bad'):
        build_model(tasks=dict(bad=dict(type='NoSuchTask')))


def test_views_are_checked():
    model = build_model()
    model.num_views = 2
    batch = model.data_preprocessor(make_packed_batch(LABELLED), True)
    with pytest.raises(ValueError, match='MultiView'):
        model(**batch, mode='loss')


@pytest.mark.parametrize('view_norm', ['joint', 'per_view'])
def test_view_norm_keeps_view0_normalised_as_supervised(view_norm):
    """``per_view``: the supervised losses (on view 0) equal those of the
    same weights without augmented views, as BatchNorm's batch statistics
    are view 0's own; ``joint`` (official) mixes the views into them."""
    torch.manual_seed(0)
    model = build_model(regularizers=[dict(type='SSLConsistency')],
                        train_cfg=dict(view_norm=view_norm))
    reference = build_model()
    reference.load_state_dict(model.state_dict())
    assert model.num_views == 2 and reference.num_views == 1
    batch = model.data_preprocessor(
        make_packed_batch(LABELLED, num_views=2), True)
    got, want = model(**batch, mode='loss'), reference(**batch, mode='loss')
    same = [torch.allclose(got[f'loss_{t}'], want[f'loss_{t}'], atol=1e-6)
            for t in DEMO_TASKS]
    assert same == [view_norm == 'per_view'] * len(DEMO_TASKS)
    assert any(k.startswith('ssl') and 'loss' in k for k in got)


def test_view_norm_per_view_concatenates_in_view_order():
    model = build_model(regularizers=[dict(type='SSLConsistency')],
                        train_cfg=dict(view_norm='per_view'))
    x = torch.randn(6, 3, 32, 32)
    feats = model.forward_views(model.extract_feat, x, 3)
    for v in range(2):
        alone = model.extract_feat(x[3 * v:3 * (v + 1)])
        for got, want in zip(feats, alone):
            assert torch.allclose(got[3 * v:3 * (v + 1)], want, atol=1e-6)


def test_train_cfg_is_checked(monkeypatch):
    with pytest.raises(KeyError, match=r"unknown keys \['view_nrom'\]"):
        build_model(train_cfg=dict(view_nrom='per_view'))
    with pytest.raises(ValueError, match='view_norm must be one of'):
        build_model(train_cfg=dict(view_norm='ghost'))
    logged = []
    monkeypatch.setattr(multitask_model, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw)))
    build_model(train_cfg=dict(view_norm='per_view'))
    assert len(logged) == 1 and "view_norm='per_view' has no effect" in \
        logged[0][0] and logged[0][1]['level'] == logging.WARNING
