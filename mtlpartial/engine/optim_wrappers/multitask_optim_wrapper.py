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

Distributed (losses normalised by *global* counts, gradients summed with
``mmengine.dist``): loss values given to balancers are all-reduced; in
parameter mode ``J`` (and the regularizer row) is all-reduced before
balancing; in rep mode only the K×K Gramian is (the global representation
is the concatenation of the ranks' ones, so ``Σ_r J_r J_rᵀ`` is its
Gramian) and each rank applies the weights to its own rows: exact for
Gramian methods, per rank for the Jacobian methods. Other gradients are
all-reduced (SUM) right before the optimizer step, so gradient
accumulation stays exact. Balancer parameters are updated identically on
every rank and are never all-reduced.

Gradient accumulation: ``_inner_count`` grows by one per call; the
combined update is computed per micro-batch on unscaled gradients and then
divided by the accumulation factor (so scale-invariant methods such as
Nash-MTL keep their meaning). Clipping happens in ``step()``.

AMP: task losses are multiplied by the loss scale before the VJP and ``J``
is unscaled before balancing; everything written to ``.grad`` is scaled,
so ``AmpOptimWrapper.step`` unscales and skips non-finite steps as usual.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.dist import all_reduce, all_reduce_params, get_world_size
from mmengine.logging import MessageHub
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from torch import Tensor

from mtlpartial.engine.balancers import BalancerInput, BaseBalancer
from mtlpartial.registry import OPTIM_WRAPPERS
from mtlpartial.structures import MultiTaskLosses
from .task_gradients import check_representation, split_like, task_jacobian

CONSTRUCTOR_HINT = ("build it with constructor='MultiTaskOptimWrapperConstru"
                    "ctor' in the optim_wrapper config (it builds the "
                    "balancer for the model's tasks and passes the shared "
                    'parameters)')


@dataclass
class StepInputs:
    """What one ``update_multitask`` call works on.

    ``rows`` are the active task indices; ``values`` their global loss
    values; ``reg`` the summed regularizer terms; ``factor`` the
    accumulation factor times the AMP loss scale.
    """
    losses: MultiTaskLosses
    rows: List[int]
    values: Tensor
    reg: Optional[Tensor]
    epoch: Optional[int]
    factor: float
    grad_scale: float

    @property
    def tasks(self) -> Tensor:
        return torch.tensor(self.rows, dtype=torch.long)

    @property
    def graph_rows(self) -> List[int]:
        """Rows whose task loss has a graph on this rank."""
        return [
            r for r, k in enumerate(self.rows)
            if self.losses.task_losses[k].requires_grad
        ]

    def weighted_sum(self, weights: Tensor,
                     with_reg: bool = True) -> Optional[Tensor]:
        """``Σ_r w_r L_{rows[r]} (+ reg)`` over the terms with a graph."""
        task_losses = self.losses.task_losses
        terms = [
            weights[r].to(task_losses[k]) * task_losses[k]
            for r, k in enumerate(self.rows) if task_losses[k].requires_grad
        ]
        if with_reg and self.reg is not None and self.reg.requires_grad:
            terms.append(self.reg)
        return sum(terms) if terms else None


def sum_across_ranks(tensor: Tensor) -> Tensor:
    """All-reduce (SUM) in place; a no-op on one rank."""
    all_reduce(tensor, op='sum')
    return tensor


def all_reduce_grads(params: Sequence[nn.Parameter]) -> None:
    """Sum ``.grad`` across ranks (coalesced); a missing grad counts as
    zeros, so that every rank issues the same collective."""
    if get_world_size() == 1 or not params:
        return
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    all_reduce_params([p.grad for p in params], op='sum')


class MultiTaskOptimWrapperMixin:
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
    def update_multitask(self, losses: MultiTaskLosses) -> Dict[str, Tensor]:
        """Balance the task losses of one iteration and update.

        Args:
            losses (MultiTaskLosses): the model's forward result.

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
        if self.balancer.input is BalancerInput.LOSSES:
            weights = self._weighting_update(step)
            sync = self.model_params()
        else:
            weights = self._gradient_update(step)
            shared = {id(p) for p in self.shared_params}
            sync = [p for p in self.model_params()
                    if self.rep_grad or id(p) not in shared]
        self._inner_count += 1
        if self.should_update():
            all_reduce_grads(sync)
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
    def _weighting_update(self, step: StepInputs) -> Tensor:
        weights = self.balancer.weights(
            None, step.values, step.tasks, epoch=step.epoch)
        total = step.weighted_sum(weights)
        if total is not None:
            (total * step.factor).backward()
        self._backward_balancer(step, None)
        return weights

    # ------------------------------------------------ gradient methods
    def _gradient_update(self, step: StepInputs) -> Optional[Tensor]:
        inputs = self._jacobian_inputs(step)
        jac, reg_row = self._task_jacobian(step, inputs)
        gram = None
        if self.balancer.input is BalancerInput.GRAMIAN:
            gram = jac @ jac.T
            if self.rep_grad:  # the ranks' rows are disjoint samples
                sum_across_ranks(gram)
        update, weights = self._balance(step, jac, gram)
        self._backward_task_specific(step, weights)
        self._backward_balancer(step, gram)
        if self.rep_grad:
            self._backward_representation(step, inputs, update)
        else:
            total = update if reg_row is None else update + reg_row
            self._add_shared_grad(total * step.factor)
        return weights

    def _jacobian_inputs(self, step: StepInputs) -> List[Tensor]:
        """The shared parameters, or the representation (rep mode)."""
        if not self.rep_grad:
            return self.shared_params
        inputs = [t for t in step.losses.shared_representation
                  if t.requires_grad]
        if step.graph_rows and not inputs:
            raise ValueError(
                'MultiTaskOptimWrapper(rep_grad=True): the losses carry no '
                'shared representation tensor that requires grad')
        check_representation(inputs)
        return inputs

    def _task_jacobian(self, step: StepInputs, inputs: List[Tensor]
                       ) -> Tuple[Tensor, Optional[Tensor]]:
        """Global task Jacobian ``[len(rows), P]`` (unscaled) and, in
        parameter mode, the regularizer's gradient row."""
        graph_rows = step.graph_rows
        outputs = [step.losses.task_losses[step.rows[r]] for r in graph_rows]
        reg = step.reg
        reg_graph = reg is not None and reg.requires_grad
        if reg_graph and not self.rep_grad:
            outputs = outputs + [reg]
        dtype = torch.promote_types(
            torch.float32, inputs[0].dtype if inputs else torch.float32)
        scale = step.grad_scale  # keep fp16 VJPs in range
        local = task_jacobian([o * scale for o in outputs]
                              if scale != 1.0 else outputs,
                              inputs, self.batched_vjp, dtype)
        if scale != 1.0:
            local = local / scale
        jac = local.new_zeros(len(step.rows), local.shape[1])
        if graph_rows:
            jac[graph_rows] = local[:len(graph_rows)]
        if self.rep_grad:  # rows stay per rank (see the Gramian)
            return jac, None
        if reg is None:
            return sum_across_ranks(jac), None
        reg_row = local[len(graph_rows)] if reg_graph else \
            local.new_zeros(local.shape[1])
        both = sum_across_ranks(torch.cat([jac, reg_row[None]]))
        return both[:-1], both[-1]

    def _balance(self, step: StepInputs, jac: Tensor, gram: Optional[Tensor]
                 ) -> Tuple[Tensor, Optional[Tensor]]:
        """The combined shared update ``[P]`` and the task weights."""
        b = self.balancer
        if b.input is BalancerInput.JACOBIAN:
            return b.combine(jac, step.values, step.tasks)
        weights = b.weights(gram, step.values, step.tasks, epoch=step.epoch)
        if not step.rows:
            return jac.new_zeros(jac.shape[1]), weights
        return weights.to(jac) @ jac, weights

    def _backward_task_specific(self, step: StepInputs,
                                weights: Optional[Tensor]) -> None:
        """``Σ_k h_k ∇L_k + ∇reg`` into the non-shared parameters."""
        shared = {id(p) for p in self.shared_params}
        others = [p for p in self.model_params() if id(p) not in shared]
        head_w = self.balancer.head_weights(weights, step.values, step.tasks)
        total = step.weighted_sum(head_w)
        if others and total is not None:
            torch.autograd.backward(
                total * step.factor, inputs=others,
                retain_graph=self.rep_grad)

    def _backward_representation(self, step: StepInputs,
                                 inputs: List[Tensor], update: Tensor) -> None:
        """Pull the combined representation gradient (and the regularizer)
        back into the shared parameters."""
        tensors, grads = [], []
        if step.graph_rows:
            for t, g in zip(inputs, split_like(update * step.factor, inputs)):
                tensors.append(t)
                grads.append(g.to(t.dtype))
        if step.reg is not None and step.reg.requires_grad:
            tensors.append(step.reg)
            grads.append(torch.full_like(step.reg, step.factor))
        if tensors:
            torch.autograd.backward(tensors, grads, inputs=self.shared_params)

    def _add_shared_grad(self, flat: Tensor) -> None:
        for p, g in zip(self.shared_params,
                        split_like(flat, self.shared_params)):
            g = g.to(p.dtype)
            if p.grad is None:
                p.grad = g.clone()
            else:
                p.grad.add_(g)


@OPTIM_WRAPPERS.register_module()
class MultiTaskOptimWrapper(MultiTaskOptimWrapperMixin, OptimWrapper):
    """fp32 ``OptimWrapper`` with task balancing (``update_multitask``)."""


@OPTIM_WRAPPERS.register_module()
class MultiTaskAmpOptimWrapper(MultiTaskOptimWrapperMixin, AmpOptimWrapper):
    """``AmpOptimWrapper`` with task balancing (needs CUDA/NPU/MLU)."""


__all__ = [
    'MultiTaskOptimWrapperMixin', 'MultiTaskOptimWrapper',
    'MultiTaskAmpOptimWrapper', 'StepInputs'
]
