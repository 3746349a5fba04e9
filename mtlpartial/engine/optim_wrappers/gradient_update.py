# Copyright (c) mtlpartial contributors. All rights reserved.
"""The step of gradient balancers (``balancer.input`` GRAMIAN or
JACOBIAN): per-task gradients, balancing, and where each gradient goes.

Split by concern: :meth:`_jacobian_inputs` (parameter vs representation
mode), :meth:`_task_jacobian` (one batched VJP, AMP scaling, distributed
reduction of ``J``), :meth:`_balance` (balancer kind),
:meth:`_backward_task_specific` (heads and other non-shared parameters),
:meth:`_backward_representation` / :meth:`_add_shared_grad` (the shared
parameters in rep / parameter mode). See the module docstring of
:mod:`.multitask_optim_wrapper` for the maths.
"""
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from mtlpartial.engine.balancers import BalancerInput
from .step_inputs import StepInputs, sum_across_ranks
from .task_gradients import check_representation, split_like, task_jacobian


class GradientUpdateMixin:
    """Gradient-method step of :class:`MultiTaskOptimWrapperMixin`.

    Uses the wrapper's ``balancer``, ``shared_params``, ``rep_grad``,
    ``batched_vjp``, ``model_params()`` and ``_backward_balancer``.
    """

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
