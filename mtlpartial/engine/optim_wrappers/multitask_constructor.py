# Copyright (c) mtlpartial contributors. All rights reserved.
"""The optim wrapper constructor of multi-task models: builds the balancer
with the model known."""
from typing import List, Optional

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper

from mtlpartial.engine.balancers import BaseBalancer
from mtlpartial.registry import (BALANCERS, OPTIM_WRAPPER_CONSTRUCTORS,
                                 OPTIM_WRAPPERS)
from .multitask_optim_wrapper import MultiTaskOptimWrapperMixin

BALANCER_KEY = 'balancer'


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiTaskOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Builds a ``MultiTaskOptimWrapper`` for a multi-task model.

    On top of mmengine's ``DefaultOptimWrapperConstructor`` (optimizer,
    ``paramwise_cfg``) it

    1. builds the ``balancer`` config (default ``dict(type='EW')``) and
       sets it up for the model's tasks (``K = len(model.task_names)``), so
       configs never state the number of tasks;
    2. adds the balancer's learnable parameters (Uncertainty, IMTL-L,
       GradNorm) to the optimizer as their own param group, before the
       param schedulers are built, so they follow the schedule. The group
       has ``weight_decay=0``; ``paramwise_cfg=dict(custom_keys=dict(
       balancer=dict(lr_mult=..., decay_mult=...)))`` sets its lr and decay
       relative to the optimizer's;
    3. passes the balancer and ``model.shared_parameters()`` to the
       wrapper, and lets randomised balancers share rank 0's seed.

    Model contract (structure only, read once here): ``task_names`` and
    ``shared_parameters()``.

    Config::

        optim_wrapper = dict(
            type='MultiTaskOptimWrapper',
            constructor='MultiTaskOptimWrapperConstructor',
            optimizer=dict(type='Adam', lr=1e-4),
            balancer=dict(type='Uncertainty'))

    Args:
        optim_wrapper_cfg (dict): the ``optim_wrapper`` config; its
            ``type`` must be a multi-task wrapper.
        paramwise_cfg (dict, optional): mmengine's paramwise options; the
            custom key ``balancer`` applies to the balancer's group.
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        cfg = dict(optim_wrapper_cfg)
        self.balancer_cfg = cfg.pop(BALANCER_KEY, None) or dict(type='EW')
        if 'num_tasks' in cfg or 'balancer_param_cfg' in cfg:
            raise KeyError(
                'optim_wrapper: num_tasks and balancer_param_cfg are no '
                'longer options: the constructor sizes the balancer from the '
                "model's tasks; set the balancer's lr/decay with "
                'paramwise_cfg=dict(custom_keys=dict(balancer=dict('
                'lr_mult=..., decay_mult=...)))')
        wrapper_type = cfg.get('type', 'OptimWrapper')
        wrapper_cls = OPTIM_WRAPPERS.get(wrapper_type) \
            if isinstance(wrapper_type, str) else wrapper_type
        if wrapper_cls is None or not issubclass(wrapper_cls,
                                                 MultiTaskOptimWrapperMixin):
            raise TypeError(
                f'MultiTaskOptimWrapperConstructor builds multi-task optim '
                f'wrappers, got type={wrapper_type!r}: write '
                "type='MultiTaskOptimWrapper' (or 'MultiTaskAmpOptimWrapper');"
                " with the default balancer EW it trains exactly like "
                "'OptimWrapper' (one backward of the summed losses)")
        super().__init__(cfg, paramwise_cfg)

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if is_model_wrapper(model):
            model = model.module
        for attr in ('task_names', 'shared_parameters'):
            if not hasattr(model, attr):
                raise TypeError(f'MultiTaskOptimWrapperConstructor: '
                                f'{type(model).__name__} has no `{attr}`; '
                                'it builds optim wrappers of multi-task '
                                'models')
        balancer = self.build_balancer(len(model.task_names))
        params = list(model.parameters())
        if params:
            balancer.to(params[0].device)
        # mmengine builds the optimizer with the paramwise options
        plain = DefaultOptimWrapperConstructor(
            dict(type='OptimWrapper', optimizer=self.optimizer_cfg),
            self.paramwise_cfg)(model)
        optimizer = plain.optimizer
        group = self.balancer_group(balancer.optimizer_parameters(),
                                    optimizer.defaults)
        if group is not None:
            optimizer.add_param_group(group)
        return OPTIM_WRAPPERS.build(
            self.optim_wrapper_cfg,
            default_args=dict(
                optimizer=optimizer,
                balancer=balancer,
                shared_params=list(model.shared_parameters())))

    def build_balancer(self, num_tasks: int) -> BaseBalancer:
        """The configured balancer, set up for ``num_tasks`` tasks."""
        cfg = self.balancer_cfg
        if isinstance(cfg, dict) and 'num_tasks' in cfg:
            raise KeyError('optim_wrapper.balancer: remove num_tasks, the '
                           "constructor takes it from the model's tasks")
        if not isinstance(cfg, (dict, BaseBalancer)):
            raise TypeError(f'optim_wrapper.balancer must be a BALANCERS '
                            f'config, got {type(cfg).__name__}')
        balancer = cfg if isinstance(cfg, BaseBalancer) else \
            BALANCERS.build(cfg)
        balancer.setup(int(num_tasks))
        balancer.share_random_state()
        return balancer

    def balancer_group(self, params: List[nn.Parameter],
                       defaults: dict) -> Optional[dict]:
        """The param group of the balancer's learnable parameters."""
        if not params:
            return None
        group = dict(params=list(params))
        if 'weight_decay' in defaults:
            group['weight_decay'] = 0.0
        custom = self.paramwise_cfg.get('custom_keys', {}).get(BALANCER_KEY)
        if custom:
            if 'lr_mult' in custom and self.base_lr is not None:
                group['lr'] = self.base_lr * custom['lr_mult']
            if 'decay_mult' in custom and self.base_wd is not None:
                group['weight_decay'] = self.base_wd * custom['decay_mult']
        return group
