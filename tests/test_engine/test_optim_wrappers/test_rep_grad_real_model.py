# Copyright (c) mtlpartial contributors. All rights reserved.
"""rep_grad=True on a real MultiTaskModel. MTANSegNet returns nested
features (bottleneck, decoder output): the representation must be what the
heads consume, or the task gradients of the encoder are counted twice (once
through the bottleneck's own row, once back through the decoder)."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mtlpartial.engine  # noqa: F401
from mtlpartial.engine.balancers import MGDA
from mtlpartial.engine.optim_wrappers.task_gradients import task_jacobian
from mtlpartial.registry import MODELS
from tests.utils.demo_inputs import DEMO_TASKS, make_packed_batch

init_default_scope('mtlpartial')


def build_wrapper(model):
    return build_optim_wrapper(
        model,
        dict(type='MultiTaskOptimWrapper',
             constructor='MultiTaskOptimWrapperConstructor',
             optimizer=dict(type='SGD', lr=1.0),
             balancer=dict(type='MGDA'), rep_grad=True))


def build_model():
    torch.manual_seed(0)
    return MODELS.build(
        dict(type='MultiTaskModel', tasks=DEMO_TASKS,
             backbone=dict(type='MTANSegNet', filters=(4, 4, 4, 4, 4)),
             heads=dict(type='ConvHead', in_channels=4)))


def test_rep_grad_uses_the_head_inputs_of_nested_backbone_features():
    data = make_packed_batch(
        [('semseg', 'depth'), ('normal', ), ('depth', 'normal'),
         ('semseg', )], h=32, w=32)

    # reference: MGDA on the Jacobian w.r.t. the decoder output, pulled
    # back through the backbone once
    ref = build_model()
    outs = {}
    ref.backbone.register_forward_hook(
        lambda m, i, o: outs.__setitem__('feats', o))
    losses = ref(**ref.data_preprocessor(copy.deepcopy(data), True),
                 mode='loss')
    task_losses = [losses[f'loss_{t}'] for t in DEMO_TASKS]
    x = outs['feats'][-1]
    jac = task_jacobian(task_losses, [x])
    mgda = MGDA()
    mgda.setup(len(DEMO_TASKS))
    w = mgda.weights(jac @ jac.T)
    params = list(ref.backbone.parameters())
    expected = torch.autograd.grad(x, params, (w @ jac).view_as(x))

    model = build_model()
    wrapper = build_wrapper(model)
    before = [p.detach().clone() for p in model.backbone.parameters()]
    model.train_step(copy.deepcopy(data), wrapper)
    for (name, p), b, e in zip(model.backbone.named_parameters(), before,
                               expected):
        torch.testing.assert_close(b - p.detach(), e, rtol=1e-4, atol=1e-7,
                                   msg=name)
    losses = model(**model.data_preprocessor(copy.deepcopy(data), True),
                   mode='loss')
    assert len(losses.shared_representation) == 1


def test_nested_pairs_finds_dependent_tensors():
    from mtlpartial.engine.optim_wrappers.task_gradients import nested_pairs
    w = torch.ones(3, requires_grad=True)
    a = w * 2
    b = (a * 3).relu()
    c = w.exp()
    assert nested_pairs([a, b, c]) == [(1, 0)]
    assert nested_pairs([b, c]) == []


def test_rep_grad_rejects_heads_reading_nested_levels():
    model = build_model()
    # as if the heads read the bottleneck and the decoder output
    model.head_input_indices = lambda num_feats: [0, 1]
    wrapper = build_wrapper(model)
    data = make_packed_batch([('semseg', ), ('depth', )], h=32, w=32)
    with pytest.raises(ValueError, match='must not depend on each other'):
        model.train_step(data, wrapper)
