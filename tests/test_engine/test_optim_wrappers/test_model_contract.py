# Copyright (c) mtlpartial contributors. All rights reserved.
"""The model hands its forward result to the optim wrapper explicitly: the
forward leaves no state on the model, and the wrapper never reads the
model during a step."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mtlpartial.engine  # noqa: F401
from mtlpartial.models import MultiTaskModel
from mtlpartial.registry import MODELS
from mtlpartial.structures import MultiTaskLosses
from tests.utils.demo_inputs import DEMO_TASKS, make_packed_batch

init_default_scope('mtlpartial')
F = (8, 8, 8, 8, 8)
REGS = [
    dict(type='JTR', channels=F, norm='instance'),
    dict(type='DGR'),
    dict(type='MTPSL', channels=(8, 16), convs_per_stage=(1, 1),
         in_width=8, feat_channels=8),
]


class LockedModel(MultiTaskModel):
    """Raises on any attribute access while ``locked`` is set."""

    locked = False

    def __getattribute__(self, name):
        if object.__getattribute__(type(self), 'locked'):
            raise AssertionError(f'model.{name} was read during the '
                                 'optim wrapper step')
        return super().__getattribute__(name)


def build(cls=MultiTaskModel, regularizers=()):
    torch.manual_seed(0)
    return MODELS.build(
        dict(type=cls, tasks=DEMO_TASKS,
             backbone=dict(type='MTANSegNet', filters=F),
             heads=dict(type='ConvHead', in_channels=8),
             regularizers=list(regularizers)))


def state_of(model):
    """Every module's attributes (by identity) and the keys of its
    parameter, buffer and submodule dicts."""
    out = {}
    for name, module in model.named_modules():
        attrs = {k: id(v) for k, v in vars(module).items()}
        for key in ('_parameters', '_buffers', '_modules'):
            attrs[key] = tuple(getattr(module, key))
        out[name] = attrs
    return out


def test_forward_leaves_no_state_on_the_model():
    model = build(regularizers=REGS)
    data = make_packed_batch([('semseg', ), ('depth', 'normal'),
                              ('normal', )], num_views=model.num_views,
                             h=32, w=32)
    batch = model.data_preprocessor(data, True)
    before = state_of(model)
    losses = model(**batch, mode='loss')
    assert isinstance(losses, MultiTaskLosses)
    assert state_of(model) == before


@pytest.mark.parametrize('balancer,rep_grad', [('EW', False),
                                               ('PCGrad', False),
                                               ('MGDA', True),
                                               ('Uncertainty', False),
                                               ('DBMTL', False)])
def test_optim_wrapper_never_reads_the_model(balancer, rep_grad):
    model = build(LockedModel, regularizers=[dict(type='DGR')])
    reference = build(regularizers=[dict(type='DGR')])
    wrappers = [
        build_optim_wrapper(
            m,
            dict(type='MultiTaskOptimWrapper',
                 constructor='MultiTaskOptimWrapperConstructor',
                 optimizer=dict(type='SGD', lr=0.1),
                 balancer=dict(type=balancer, seed=0) if balancer == 'PCGrad'
                 else dict(type=balancer), rep_grad=rep_grad))
        for m in (model, reference)
    ]
    update = wrappers[0].update_multitask
    calls = []

    def locked_update(losses):
        calls.append(type(losses))
        LockedModel.locked = True
        try:
            return update(losses)
        finally:
            LockedModel.locked = False

    wrappers[0].update_multitask = locked_update
    data = make_packed_batch([('semseg', ), ('depth', 'normal'),
                              ('normal', 'semseg')], h=32, w=32)
    log = model.train_step(copy.deepcopy(data), wrappers[0])
    ref_log = reference.train_step(copy.deepcopy(data), wrappers[1])
    assert calls == [MultiTaskLosses]
    assert torch.isfinite(log['loss'])
    # the locked model trained exactly like an ordinary one
    assert log.keys() == ref_log.keys()
    for (name, p), q in zip(model.named_parameters(),
                            reference.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=name)


def test_plain_optim_wrapper_is_refused_with_what_to_write():
    from mmengine.optim import OptimWrapper
    model = build()
    ow = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    data = make_packed_batch([('semseg', )], h=32, w=32)
    with pytest.raises(TypeError, match="type='MultiTaskOptimWrapper'"):
        model.train_step(data, ow)
    with pytest.raises(TypeError, match="type='MultiTaskOptimWrapper'"):
        build_optim_wrapper(
            model,
            dict(type='OptimWrapper',
                 constructor='MultiTaskOptimWrapperConstructor',
                 optimizer=dict(type='SGD', lr=0.1)))
    # without the constructor the wrapper cannot know the model
    with pytest.raises(TypeError, match='MultiTaskOptimWrapperConstructor'):
        build_optim_wrapper(
            model,
            dict(type='MultiTaskOptimWrapper',
                 optimizer=dict(type='SGD', lr=0.1)))
    with pytest.raises(KeyError, match='num_tasks'):
        build_optim_wrapper(
            model,
            dict(type='MultiTaskOptimWrapper',
                 constructor='MultiTaskOptimWrapperConstructor',
                 optimizer=dict(type='SGD', lr=0.1), num_tasks=3))
