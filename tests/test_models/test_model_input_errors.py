# Copyright (c) mtlpartial contributors. All rights reserved.
"""Clear messages for bad model configs and the NaN stop (issue 12,
case 10)."""
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from tests.utils.demo_inputs import build_demo_model, make_packed_batch

init_default_scope('mtlpartial')


def build_model(**kwargs):
    return build_demo_model((8, 8, 8, 8, 8), init_weights=False, **kwargs)


def test_heads_as_a_list_is_explained():
    with pytest.raises(TypeError, match='model.heads must be a dict.*got '
                       'list'):  # was: unhashable type: 'ConfigDict'
        build_model(heads=[dict(type='ConvHead', in_channels=8)] * 3)


def test_nan_message_gives_the_iteration_of_the_run():
    torch.manual_seed(0)
    model = build_model()
    optim = build_optim_wrapper(
        model,
        dict(type='MultiTaskOptimWrapper',
             constructor='MultiTaskOptimWrapperConstructor',
             optimizer=dict(type='SGD', lr=0.1)))
    with torch.no_grad():
        model.heads['depth'].layers[-1].bias.fill_(float('nan'))
    # a run resumed at iteration 8: the runner publishes the global count
    hub = MessageHub.get_instance('nan_message_test')
    hub.update_info('iter', 8)
    data = make_packed_batch([('semseg', ), ('depth', 'normal')])
    with pytest.raises(FloatingPointError, match='at iteration 9 of the run'
                       ".*'loss_depth'.*lower learning rate"):
        model.train_step(data, optim)  # the model's first step
