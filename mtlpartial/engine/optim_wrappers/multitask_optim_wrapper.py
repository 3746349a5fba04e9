# Copyright (c) mtlpartial contributors. All rights reserved.
"""Optim wrappers that balance the tasks of a multi-task model.

``MultiTaskOptimWrapper`` (fp32) and ``MultiTaskAmpOptimWrapper`` (AMP)
add ``update_multitask(losses: MultiTaskLosses) -> log_vars`` to mmengine's
wrappers; ``MultiTaskModel.train_step`` calls it with the result of the
forward. It is the only training-step path of mtlpartial: with the default
balancer ``EW`` it is one backward of the summed losses, what mmengine's
``OptimWrapper`` does. Build it with the constructor, which knows the model
(docs/design.md)::

    optim_wrapper = dict(
        type='MultiTaskOptimWrapper',
        constructor='MultiTaskOptimWrapperConstructor',
        optimizer=dict(type='Adam', lr=1e-4),
        balancer=dict(type='PCGrad'),   # any BALANCERS entry; default EW
        rep_grad=False,                 # gradients w.r.t. the shared params
        clip_grad=None, accumulative_counts=1)

Contracts. At construction (from ``MultiTaskOptimWrapperConstructor``):
the balancer, set up for the model's K tasks, and the shared parameters
(``model.shared_parameters()``). Every step: a
:class:`~mtlpartial.structures.MultiTaskLosses` (task losses in task
order, regularizer terms, ``task_active``, the shared representation).
The wrapper never reads the model.

One step (``balancer.input``):

* ``LOSSES`` (EW, Uncertainty, DWA, RLW, IMTL-L, FAMO): one backward of
  ``Σ_k w_k L_k + Σ reg`` (weights from the global loss values); learnable
  weightings also back-propagate their ``balancer_loss`` into their own
  parameters (a param group of the model optimizer, or their own optimizer
  for FAMO).
* ``GRAMIAN`` / ``JACOBIAN`` (gradient methods, GradNorm): the per-task
  gradients ``J`` (K×P) w.r.t. the shared parameters (``rep_grad=False``)
  or the shared representation (``rep_grad=True``) come from one
  vmap-batched VJP over the stacked task losses
  (:mod:`.task_gradients`). Task heads and other non-shared parameters
  receive ``Σ_k h_k ∇L_k + ∇reg`` from an ordinary backward restricted to
  them (``h_k = balancer.head_weights``: 1 for gradient methods, the
  weights for GradNorm, ``1/L_k`` for DB-MTL). The shared parameters
  receive the combined update plus the regularizer gradient (parameter
  mode: an extra row of the batched VJP; rep mode: one backward of the
  representation with the combined representation gradient).
* Tasks with ``task_active`` False sit out (their rows are dropped).

Distributed (losses normalised by *global* counts, so the global-batch
gradient is the sum of the ranks' gradients; docs/design.md):

* loss weightings under torch DDP (:class:`MultiTaskDistributedWrapper`,
  ``update_multitask(losses, data_parallel=True)``): the backward of
  ``world_size · (Σ_k w_k L_k + Σ reg)`` runs through DDP's reducer, whose
  bucketed all-reduce overlaps the backward and *averages*, which gives
  exactly the sum. A rank whose losses have no graph (no labelled pair, no
  regularizer term) back-propagates a zero through the shared
  representation so that it still joins the reduction.
* gradient methods run their forward under DDP's ``no_sync``
  (:meth:`optim_context`): in parameter mode ``J`` (and the regularizer
  row) is summed in place before balancing; in rep mode only the K×K
  Gramian is (the global representation is the concatenation of the ranks'
  ones, so ``Σ_r J_r J_rᵀ`` is its Gramian) and each rank applies the
  weights to its own rows: exact for Gramian methods, per rank for the
  Jacobian methods. The other gradients are summed in buckets,
  asynchronously, while the shared update is computed (:mod:`.grad_sync`).
* a model that is not DDP-wrapped (the wrapper used directly in a process
  group): every gradient is summed by :mod:`.grad_sync` before the step.

Loss values given to balancers are all-reduced. Summing happens on the
micro-batch that updates, so gradient accumulation stays exact (DDP's
``no_sync`` on the inner ones). Balancer parameters are updated identically
on every rank and are never all-reduced.

Gradient accumulation: ``_inner_count`` grows by one per call; the
combined update is computed per micro-batch on unscaled gradients and then
divided by the accumulation factor (so scale-invariant methods such as
Nash-MTL keep their meaning). Clipping happens in ``step()``.

AMP: task losses are multiplied by the loss scale before the VJP and ``J``
is unscaled before balancing; everything written to ``.grad`` is scaled,
so ``AmpOptimWrapper.step`` unscales and skips non-finite steps as usual.
"""
from contextlib import ExitStack, contextmanager
from typing import Dict, Iterator, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.dist import get_world_size
from mmengine.logging import MessageHub
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from torch import Tensor

from mtlpartial.engine.balancers import BalancerInput, BaseBalancer
from mtlpartial.registry import OPTIM_WRAPPERS
from mtlpartial.structures import MultiTaskLosses
from .gradient_update import GradientUpdateMixin
from .grad_sync import AsyncSum, sum_across_ranks, sum_grads_async
from .step_inputs import StepInputs

CONSTRUCTOR_HINT = ("build it with constructor='MultiTaskOptimWrapperConstru"
                    "ctor' in the optim_wrapper config (it builds the "
                    "balancer for the model's tasks and passes the shared "
                    'parameters)')


class MultiTaskOptimWrapperMixin(GradientUpdateMixin):
    """Task balancing for mmengine optim wrappers (see module docstring).

    Args:
        balancer (BaseBalancer): set up for the model's tasks (given by
            ``MultiTaskOptimWrapperConstructor``, which builds it from the
            config's ``balancer``, default ``dict(type='EW')``).
        shared_params (Sequence[nn.Parameter]): the shared parameters
            (backbone, neck); required by gradient balancers.
        rep_grad (bool): per-task gradients w.r.t. the shared
            representation (MGDA-UB style) instead of the shared parameters.
            Only used by balancers that need task gradients. Defaults to
            False.
        batched_vjp (bool): one vmap-batched VJP for all tasks (falls back
            to a loop on ops without vmap support). Defaults to True.
        **kwargs: arguments of the mmengine wrapper (``optimizer``,
            ``accumulative_counts``, ``clip_grad``, ...).
    """

    def __init__(self,
                 *args,
                 balancer: Optional[BaseBalancer] = None,
                 shared_params: Sequence[nn.Parameter] = (),
                 rep_grad: bool = False,
                 batched_vjp: bool = True,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        name = type(self).__name__
        if not isinstance(balancer, BaseBalancer):
            raise TypeError(f'{name} needs a built balancer, got '
                            f'{type(balancer).__name__}: {CONSTRUCTOR_HINT}')
        if balancer.num_tasks is None:
            raise ValueError(f'{name}: the balancer is not set up for the '
                             f'tasks; {CONSTRUCTOR_HINT}')
        self.balancer = balancer
        self.shared_params = [p for p in shared_params if p.requires_grad]
        self.rep_grad = bool(rep_grad)
        self.batched_vjp = bool(batched_vjp)
        if balancer.input is not BalancerInput.LOSSES and \
                not self.shared_params:
            raise ValueError(f'{name}: {type(balancer).__name__} combines '
                             'task gradients and needs the shared '
                             f'parameters; {CONSTRUCTOR_HINT}')
        known = {id(p) for p in self.model_params()}
        if any(id(p) not in known for p in self.shared_params):
            raise ValueError(f'{name}: some shared parameters are not in '
                             'the optimizer')

    def model_params(self) -> List[nn.Parameter]:
        """Trainable parameters of the optimizer, without the balancer's."""
        own = {id(p) for p in self.balancer.optimizer_parameters()}
        return [
            p for group in self.optimizer.param_groups
            for p in group['params'] if p.requires_grad and id(p) not in own
        ]

    # -------------------------------------------------------------- state
    def state_dict(self) -> dict:
        state = super().state_dict()
        state['balancer'] = self.balancer.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        balancer_state = state_dict.pop('balancer', None)
        if balancer_state is not None:
            self.balancer.load_state_dict(balancer_state)
        super().load_state_dict(state_dict)

    def update_params(self, *args, **kwargs) -> None:
        raise TypeError(f'{type(self).__name__} updates from the structured '
                        'losses of a multi-task model: call '
                        'update_multitask(losses) (MultiTaskModel.train_step '
                        'does)')

    # ----------------------------------------------------------- the step
    @property
    def needs_task_gradients(self) -> bool:
        """Whether the balancer combines per-task gradients (GRAMIAN or
        JACOBIAN input) rather than weighting the losses."""
        return self.balancer.input is not BalancerInput.LOSSES

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """mmengine's context of the forward, plus DDP's ``no_sync`` for
        the gradient methods: they need per-task gradients before anything
        is summed, which DDP's reducer cannot give, and sum them
        themselves (:mod:`.grad_sync`)."""
        with ExitStack() as stack:
            if self.needs_task_gradients and hasattr(model, 'no_sync'):
                stack.enter_context(model.no_sync())
            stack.enter_context(super().optim_context(model))
            yield

    def update_multitask(self, losses: MultiTaskLosses,
                         data_parallel: bool = False) -> Dict[str, Tensor]:
        """Balance the task losses of one iteration and update.

        Args:
            losses (MultiTaskLosses): the model's forward result.
            data_parallel (bool): the forward ran through torch DDP
                (``MultiTaskDistributedWrapper``) inside
                :meth:`optim_context`: a loss weighting then leaves the
                gradient sum to DDP's reducer. Defaults to False (every
                gradient is summed here, as a model without a DDP wrapper
                needs).

        Returns:
            dict: ``weight_<task>`` of the active tasks when the balancer
            has per-task weights (local values are logged by the model).
        """
        if not isinstance(losses, MultiTaskLosses):
            raise TypeError(f'{type(self).__name__}.update_multitask expects '
                            'MultiTaskLosses (MultiTaskModel.loss), got '
                            f'{type(losses).__name__}')
        if len(losses.task_names) != self.balancer.num_tasks:
            raise ValueError(
                f'{type(self).__name__}: the balancer was built for '
                f'{self.balancer.num_tasks} tasks, the losses have '
                f'{len(losses.task_names)} {losses.task_names}')
        step = self._step_inputs(losses)
        # ``should_sync`` before the count grows: this micro-batch updates
        updates = self.should_sync()
        pending: List[AsyncSum] = []
        if not self.needs_task_gradients:
            weights = self._weighting_update(step, data_parallel, updates)
            if updates and not data_parallel:
                pending.append(sum_grads_async(self.model_params()))
        else:
            weights = self._gradient_update(step, updates, pending)
        for sums in pending:
            sums.wait()
        self._inner_count += 1
        if self.should_update():
            self.step()
            self.zero_grad()
            self.balancer.after_step()
        log_vars = {}
        if weights is not None and weights.numel() == len(step.rows):
            for k, w in zip(step.rows, weights.detach().cpu().tolist()):
                log_vars[f'weight_{losses.task_names[k]}'] = torch.tensor(
                    float(w))
        return log_vars

    def _step_inputs(self, losses: MultiTaskLosses) -> StepInputs:
        rows = losses.task_active.cpu().nonzero().flatten().tolist()
        values = torch.stack([v.detach().reshape(())
                              for v in losses.task_losses])
        values = sum_across_ranks(
            values.to(torch.promote_types(values.dtype, torch.float32)))
        hub = MessageHub.get_current_instance()
        device = values.device
        for p in self.model_params()[:1]:
            device = p.device
        loss_factor = float(self.scale_loss(torch.ones(())))
        grad_scale = self._grad_scale(device)
        return StepInputs(
            losses=losses,
            rows=rows,
            values=values[torch.tensor(rows, dtype=torch.long).to(
                values.device)],
            reg=losses.regularizer_total(),
            epoch=hub.get_info('epoch') if hub is not None else None,
            factor=loss_factor * grad_scale,
            grad_scale=grad_scale)

    def _grad_scale(self, device) -> float:
        """AMP loss scale (1 without a loss scaler)."""
        scaler = getattr(self, 'loss_scaler', None)
        if scaler is None:
            return 1.0
        # ``scale`` also initialises the scaler lazily (needed by ``step``)
        return float(scaler.scale(torch.ones((), device=device)))

    def _backward_balancer(self, step: StepInputs,
                           gram: Optional[Tensor]) -> None:
        """Gradient of the balancer's own objective (learnable ones)."""
        if not step.rows:
            return
        own = self.balancer.balancer_loss(gram, step.values, step.tasks)
        if own is not None:
            (own * step.factor).backward()

    # ------------------------------------------------- loss weightings
    def _weighting_update(self, step: StepInputs, data_parallel: bool,
                          updates: bool) -> Tensor:
        """One backward of ``Σ_k w_k L_k + Σ reg``; under DDP scaled by the
        world size (DDP's reducer averages)."""
        weights = self.balancer.weights(
            None, step.values, step.tasks, epoch=step.epoch)
        total = step.weighted_sum(weights)
        factor = step.factor
        if data_parallel:
            factor *= get_world_size()
            if updates:
                total = self._with_representation(total, step)
        if total is not None:
            (total * factor).backward()
        self._backward_balancer(step, None)
        return weights

    @staticmethod
    def _with_representation(total: Optional[Tensor],
                             step: StepInputs) -> Tensor:
        """``total + 0 · Σ shared representation``.

        DDP's reducer (``find_unused_parameters``) expects a gradient for
        every parameter reachable from the forward's outputs, the shared
        representation included, and waits for every rank's backward. On
        a rank where the losses do not reach the whole representation (no
        labelled pair, or only a regularizer on an earlier feature) the
        zero term gives the shared parameters their (zero) gradient.
        """
        rep = [t for t in step.losses.shared_representation
               if t.requires_grad]
        if not rep:
            if total is None:
                raise RuntimeError(
                    'MultiTaskOptimWrapper under DDP: this rank has no '
                    'labelled (image, task) pair, no regularizer term with '
                    'a graph and no shared representation with a graph, so '
                    'it cannot join the gradient reduction of the other '
                    'ranks; use a larger per-rank batch or '
                    'TaskBalancedSampler')
            return total
        zero = sum(t.sum() for t in rep) * 0.0
        return zero if total is None else total + zero


@OPTIM_WRAPPERS.register_module()
class MultiTaskOptimWrapper(MultiTaskOptimWrapperMixin, OptimWrapper):
    """fp32 ``OptimWrapper`` with task balancing (``update_multitask``)."""


@OPTIM_WRAPPERS.register_module()
class MultiTaskAmpOptimWrapper(MultiTaskOptimWrapperMixin, AmpOptimWrapper):
    """``AmpOptimWrapper`` with task balancing (needs CUDA/NPU/MLU)."""


__all__ = [
    'MultiTaskOptimWrapperMixin', 'MultiTaskOptimWrapper',
    'MultiTaskAmpOptimWrapper'
]
