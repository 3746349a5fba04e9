# Copyright (c) mtlpartial contributors. All rights reserved.
"""DiffusionMTL as a MultiTaskModel: labelled-only supervision, the loss
terms, prediction, and composition with a regularizer and a balancer."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mtlpartial.models.loss_normalizer import LossNormalizer
from mtlpartial.registry import MODELS
from tests.utils.demo_inputs import DEMO_TASKS, make_packed_batch

init_default_scope('mtlpartial')

LABELLED = [('semseg', ), ('depth', 'normal'), ('normal', ), ('semseg', )]


def model_cfg(**kwargs):
    cfg = dict(
        type='DiffusionMTL',
        tasks=DEMO_TASKS,
        backbone=dict(type='MTANSegNet', filters=(8, 8, 16, 16, 16)),
        neck=dict(type='MultiScaleFusionNeck', in_channels=[16, 8],
                  out_channels=16, ref_index=1, scale_factor=0.25),
        heads=dict(type='PreliminaryHead', in_channels=16),
        diffusion=dict(type='MTDNet', embed_dims=16, depth=1, num_heads=2,
                       mlp_ratio=2., head_channels=16),
        loss_scale=3.0,
        align_corners=False)
    cfg.update(kwargs)
    return cfg


def build(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(model_cfg(**kwargs))
    model.init_weights()
    return model


def preprocess(model, labelled=LABELLED, **kwargs):
    return model.data_preprocessor(make_packed_batch(labelled, **kwargs),
                                   True)


def test_unlabelled_pairs_give_no_loss_and_no_gradient():
    """loss_<task> does not depend on the images not labelled for the task
    (BN in eval: no coupling between samples): the preliminary and the
    denoised term only read labelled rows."""
    model = build().eval()
    data = preprocess(model)
    inputs = data['inputs'].clone().requires_grad_()
    losses = model.loss(inputs, data['data_samples'])
    for t in model.tasks:
        grad, = torch.autograd.grad(losses[f'loss_{t}'], inputs,
                                    retain_graph=True)
        for i, names in enumerate(LABELLED):
            nonzero = bool(grad[i].abs().sum() > 0)
            assert nonzero == (t in names), (t, i)


def test_only_labelled_rows_are_denoised(monkeypatch):
    model = build()
    seen = {}
    forward = type(model.diffusion).forward

    def spy(self, starts, cond):
        seen.update({t: s.shape[0] for t, s in starts.items()})
        return forward(self, starts, cond)

    monkeypatch.setattr(type(model.diffusion), 'forward', spy)
    data = preprocess(model)
    model.loss(data['inputs'], data['data_samples'])
    assert seen == dict(semseg=2, depth=1, normal=2)


def test_task_loss_is_final_plus_weighted_preliminary_term():
    """loss_t = scale * (L_t(final) + w * L_t(prelim)); the preliminary
    term recomputed from the heads with the task specs (image
    normalisation: Σ_i L / |T_i| / B)."""
    model = build()
    data = preprocess(model)
    inputs, batch = data['inputs'], data['data_samples']
    torch.manual_seed(1)
    with_prelim = model.loss(inputs, batch)
    model.prelim_loss_weight = 0.0
    torch.manual_seed(1)  # same diffusion noise: same final term
    final_only = model.loss(inputs, batch)
    _, raw = model.preliminary(model.extract_feat(inputs))
    for t, spec in model.tasks.items():
        pred = spec.activate(F.interpolate(
            raw[t], size=inputs.shape[-2:], mode='bilinear',
            align_corners=False))
        expected = 0.0
        for i, names in enumerate(LABELLED):
            if t in names:
                gt = batch[i].get_gt(t)[0][None]
                expected += spec.loss(pred[i:i + 1], gt)[0] / len(names)
        expected = 3.0 * 0.5 * expected / len(LABELLED)
        diff = with_prelim[f'loss_{t}'] - final_only[f'loss_{t}']
        torch.testing.assert_close(diff, expected, rtol=1e-4, atol=1e-6)


def test_labelled_only_task_loss_equals_indexing_the_full_batch():
    model = build()
    data = preprocess(model)
    batch = data['data_samples']
    norm = LossNormalizer.from_labelled(model.normalize, batch.labelled)
    pred = torch.randn(4, 1, 32, 32)
    index = batch.target('depth').index
    torch.testing.assert_close(
        model.task_loss('depth', pred[index], batch, norm,
                        labelled_only=True),
        model.task_loss('depth', pred, batch, norm))
    with pytest.raises(ValueError, match='1 labelled samples'):
        model.task_loss('depth', pred, batch, norm, labelled_only=True)


def test_task_without_labels_gets_zero_loss_without_graph():
    model = build()
    data = preprocess(model, labelled=[('semseg', ), ('normal', )])
    losses = model.loss(data['inputs'], data['data_samples'])
    assert float(losses['loss_depth']) == 0
    assert not losses['loss_depth'].requires_grad
    assert losses['loss_semseg'].requires_grad


def test_predict_returns_every_task_at_input_size():
    model = build().eval()
    with torch.no_grad():
        samples = model.predict(torch.rand(2, 3, 32, 64))
    assert samples[0].pred_semseg.shape == (1, 32, 64)
    assert samples[1].pred_depth.shape == (1, 32, 64)
    assert torch.allclose(samples[0].pred_normal.norm(dim=0),
                          torch.ones(32, 64), atol=1e-4)


def test_prediction_diffusion_trains():
    model = build(diffusion=dict(type='MTDNet', mode='prediction',
                                 embed_dims=16, depth=1, num_heads=2,
                                 head_channels=8))
    data = preprocess(model)
    losses = model.loss(data['inputs'], data['data_samples'])
    sum(losses.values()).backward()
    grads = [p.grad for p in model.diffusion.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_bad_configurations_are_rejected():
    with pytest.raises(TypeError, match='forward_features'):
        build(heads=dict(type='ConvHead', in_channels=16))
    with pytest.raises(ValueError, match='embed_dims'):
        build(heads=dict(type='PreliminaryHead', in_channels=16,
                         channels=8))
    with pytest.raises(ValueError, match='task_channels'):
        build(diffusion=dict(type='MTDNet', task_channels=dict(semseg=4)))
    with pytest.raises(ValueError, match="view_norm='per_view' is not"):
        build(regularizers=[dict(type='SSLConsistency')],
              train_cfg=dict(view_norm='per_view'))


def test_jtr_on_final_predictions_with_pcgrad():
    """DiffusionMTL + JTR + PCGrad: with a regularizer every row of every
    view is denoised, JTR's gradient reaches the denoiser, and the
    balancer gets one total loss per task."""
    model = build(regularizers=[
        dict(type='JTR', channels=(8, 8, 16, 16, 16))
    ])
    data = preprocess(model, num_views=3)
    losses = model.loss(data['inputs'], data['data_samples'])
    reg = sum(v for k, v in losses.items() if k.startswith('jtr.'))
    params = list(model.diffusion.denoiser.parameters())
    grads = torch.autograd.grad(reg, params, allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)

    ow = build_optim_wrapper(model, dict(
        type='MultiTaskOptimWrapper', optimizer=dict(type='Adam', lr=1e-3),
        constructor='MultiTaskOptimWrapperConstructor',
        balancer=dict(type='PCGrad')))
    before = [p.detach().clone() for p in model.diffusion.parameters()]
    log = model.train_step(
        make_packed_batch(LABELLED, num_views=3), ow)
    assert all(torch.isfinite(v) for v in log.values())
    assert {'loss_semseg', 'loss_depth', 'loss_normal',
            'jtr.loss_d1'} <= set(log)
    changed = [not torch.equal(a, b.detach())
               for a, b in zip(before, model.diffusion.parameters())]
    assert any(changed)


@pytest.mark.parametrize('reg,views', [
    (dict(type='MTPSL', channels=(8, 8, 16, 16, 16), feat_channels=16,
          in_width=8), 2),
    (dict(type='DGR'), 1),
    (dict(type='SSLConsistency'), 2),
])
def test_other_regularizers_run_on_diffusionmtl(reg, views):
    """MTPSL (final predictions, fused feature), DGR (dummy preliminary
    heads on the fused feature) and SSL consistency take a step."""
    model = build(regularizers=[reg])
    ow = build_optim_wrapper(model, dict(
        type='MultiTaskOptimWrapper', optimizer=dict(type='Adam', lr=1e-3),
        constructor='MultiTaskOptimWrapperConstructor'))
    log = model.train_step(make_packed_batch(LABELLED, num_views=views), ow)
    assert any(k.startswith(f'{model.regularizers[0].name}.') for k in log)
    assert all(torch.isfinite(v) for v in log.values())
