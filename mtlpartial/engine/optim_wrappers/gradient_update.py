# Copyright (c) mtlpartial contributors. All rights reserved.
"""The step of gradient balancers (``balancer.input`` GRAMIAN or
JACOBIAN): per-task gradients, balancing, and where each gradient goes.

One backward per part of the network (``R`` active rows, ``rep`` the shared
representation the heads read, ``others`` the non-shared parameters):

1. **Heads, per task** (:func:`.task_gradients.task_vjps`): ``∂L_k/∂rep``
   and ``∂L_k/∂others`` from one ``autograd.grad`` per task, which runs
   only the part of the graph between ``L_k`` and ``rep`` (task k's head),
   not every head for every task as one vmapped VJP over the stacked
   losses would.
2. **rep mode**: ``J = [∂L_k/∂rep]`` is all there is to balance; one
   backward of ``rep`` (with ``wᵀJ``) and of the regularizer carries
   everything into the shared parameters and the regularizer's own ones.
   **Parameter mode**: ``J`` w.r.t. the shared parameters is the VJP of
   ``rep`` with the K rows of step 1 (one vmapped backward through the
   trunk, :func:`.task_gradients.chain_jacobian`); it stays in per-parameter
   pieces ``[R, *p.shape]`` as autograd returns them: Gramian methods take
   ``Σ_p J_p J_pᵀ`` and write ``wᵀJ_p`` into each ``p.grad``, only the
   Jacobian methods (GradDrop, DB-MTL) get one flat ``[R, P]`` copy. The
   regularizer is back-propagated once, on its own.
3. **Task-specific parameters**: ``Σ_k h_k ∂L_k/∂others`` from step 1
   (``h_k = balancer.head_weights``), plus the regularizer's gradient.

When the heads do not read only ``shared_representation`` (a loss reaches
a shared parameter past it), parameter mode falls back to one vmapped VJP
of the stacked losses w.r.t. the shared parameters (:func:`task_jacobian`).

Distributed (forward under DDP's ``no_sync``): parameter mode sums ``J``'s
pieces and the regularizer's shared gradient across ranks in place before
balancing; rep mode sums the K×K Gramian only. The non-shared gradients
(and in rep mode the shared ones) are summed, asynchronously, on the
micro-batch that updates (:mod:`.grad_sync`). See the module docstring of
:mod:`.multitask_optim_wrapper` for the maths.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from mtlpartial.engine.balancers import BalancerInput
from .grad_sync import AsyncSum, sum_across_ranks, sum_grads_async
from .step_inputs import StepInputs
from .task_gradients import (add_to_grads, bypasses, chain_jacobian,
                             check_representation, nested_pairs, split_like,
                             task_jacobian, task_vjps)


class GradientUpdateMixin:
    """Gradient-method step of :class:`MultiTaskOptimWrapperMixin`.

    Uses the wrapper's ``balancer``, ``shared_params``, ``rep_grad``,
    ``batched_vjp``, ``model_params()`` and ``_backward_balancer``.
    """

    def _gradient_update(self, step: StepInputs, updates: bool,
                         pending: List[AsyncSum]) -> Optional[Tensor]:
        """One step of a gradient method; summing across ranks that is
        still running is appended to ``pending``."""
        shared_ids = {id(p) for p in self.shared_params}
        others = [p for p in self.model_params() if id(p) not in shared_ids]
        rep = self._representation(step)
        if self.rep_grad:
            return self._rep_update(step, rep, others, updates, pending)
        return self._param_update(step, rep, others, updates, pending)

    # ------------------------------------------------------------ inputs
    def _representation(self, step: StepInputs) -> Optional[List[Tensor]]:
        """The shared representation, checked in rep mode; in parameter
        mode None when the per-task gradients cannot be chained through
        it (absent, nested, or bypassed by a task loss)."""
        inputs = [t for t in step.losses.shared_representation
                  if t.requires_grad]
        if self.rep_grad:
            if step.graph_rows and not inputs:
                raise ValueError(
                    'MultiTaskOptimWrapper(rep_grad=True): the losses carry '
                    'no shared representation tensor that requires grad')
            check_representation(inputs)
            return inputs
        if not inputs or (len(inputs) > 1 and nested(inputs)):
            return None
        losses = [step.losses.task_losses[step.rows[r]]
                  for r in step.graph_rows]
        return None if bypasses(losses, inputs, self.shared_params) \
            else inputs

    def _task_losses(self, step: StepInputs) -> List[Tensor]:
        """Losses of the rows with a graph, AMP-scaled."""
        scale = step.grad_scale
        losses = [step.losses.task_losses[step.rows[r]]
                  for r in step.graph_rows]
        return [loss * scale for loss in losses] if scale != 1.0 else losses

    # ---------------------------------------------------------- rep mode
    def _rep_update(self, step: StepInputs, rep: List[Tensor],
                    others: List[nn.Parameter], updates: bool,
                    pending: List[AsyncSum]) -> Optional[Tensor]:
        rep_rows, other_rows = task_vjps(self._task_losses(step), rep,
                                         others)
        jac = rows_matrix(rep_rows, step, rep)
        gram = None
        if self.balancer.input is BalancerInput.GRAMIAN:
            gram = sum_across_ranks(jac @ jac.T)  # ranks' rows: disjoint
        update, weights = self._balance(step, jac, gram)
        self._add_task_specific(step, weights, others, other_rows)
        self._backward_balancer(step, gram)
        tensors, grads = [], []
        if step.graph_rows:
            for t, g in zip(rep, split_like(update * step.factor, rep)):
                tensors.append(t)
                grads.append(g.to(t.dtype))
        if step.reg is not None and step.reg.requires_grad:
            tensors.append(step.reg)
            grads.append(torch.full_like(step.reg, step.factor))
        params = self.shared_params + others
        if tensors:
            torch.autograd.backward(tensors, grads, inputs=params)
        if updates:
            pending.append(sum_grads_async(params))
        return weights

    # ---------------------------------------------------- parameter mode
    def _param_update(self, step: StepInputs, rep: Optional[List[Tensor]],
                      others: List[nn.Parameter], updates: bool,
                      pending: List[AsyncSum]) -> Optional[Tensor]:
        shared = self.shared_params
        losses = self._task_losses(step)
        reg = step.reg if step.reg is not None and step.reg.requires_grad \
            else None
        if rep is not None:
            rep_rows, other_rows = task_vjps(losses, rep, others)
            pieces = chain_jacobian(rep, rep_rows, shared, self.batched_vjp)
        else:  # the old single VJP over the stacked losses
            _, other_rows = task_vjps(losses, [], others)
            pieces = self._direct_pieces(losses, shared)
        pieces = full_rows(pieces, step)
        reg_shared, reg_others = None, None
        if reg is not None:
            grads = torch.autograd.grad(
                reg * step.grad_scale, shared + others, allow_unused=True)
            reg_shared = [torch.zeros_like(p) if g is None else g
                          for p, g in zip(shared, grads[:len(shared)])]
            reg_others = list(grads[len(shared):])
        elif step.reg is not None:  # no graph here, a graph elsewhere
            reg_shared = [torch.zeros_like(p) for p in shared]
        AsyncSum(pieces + (reg_shared or [])).wait()
        if step.grad_scale != 1.0:
            for t in pieces + (reg_shared or []):
                t.div_(step.grad_scale)
        if reg_others is not None and step.grad_scale != 1.0:
            reg_others = [None if g is None else g / step.grad_scale
                          for g in reg_others]
        flat = [t.view(t.shape[0], -1) for t in pieces]
        gram, jac = None, None
        if self.balancer.input is BalancerInput.GRAMIAN:
            gram = sum(f @ f.T for f in flat) if flat else None
        else:
            jac = torch.cat(flat, 1)
        update, weights = self._balance(step, jac, gram, flat)
        self._add_task_specific(step, weights, others, other_rows,
                                reg_others)
        if updates:
            pending.append(sum_grads_async(others))
        self._backward_balancer(step, gram)
        if not step.rows and reg_shared is None:
            return weights
        if update is None:
            update = [torch.zeros_like(p) for p in shared]
        elif isinstance(update, Tensor):
            update = split_like(update, shared)
        else:
            update = [u.view_as(p) for u, p in zip(update, shared)]
        total = update if reg_shared is None else \
            [u + g for u, g in zip(update, reg_shared)]
        add_to_grads(shared, total, step.factor)
        return weights

    def _direct_pieces(self, losses: Sequence[Tensor],
                       shared: List[nn.Parameter]) -> List[Tensor]:
        """``[G, *p.shape]`` per shared parameter from one VJP of the
        stacked losses (fallback of :meth:`_param_update`)."""
        jac = task_jacobian(losses, shared, self.batched_vjp)
        return [g.view(len(losses), *p.shape)
                for g, p in zip(split_rows(jac, shared), shared)]

    # ---------------------------------------------------------- balancing
    def _balance(self, step: StepInputs, jac: Optional[Tensor],
                 gram: Optional[Tensor],
                 pieces: Optional[List[Tensor]] = None):
        """The combined shared update and the task weights.

        The update is ``[P]`` (flat ``jac``) or, given the per-parameter
        ``pieces`` of a Gramian method, one tensor per piece."""
        b = self.balancer
        if b.input is BalancerInput.JACOBIAN:
            return b.combine(jac, step.values, step.tasks)
        weights = b.weights(gram, step.values, step.tasks, epoch=step.epoch)
        if not step.rows:
            if pieces is not None:
                return None, weights
            return jac.new_zeros(jac.shape[1]), weights
        if pieces is not None:
            w = weights.to(pieces[0]) if pieces else weights
            return [w @ f for f in pieces], weights
        return weights.to(jac) @ jac, weights

    def _add_task_specific(self, step: StepInputs,
                           weights: Optional[Tensor],
                           others: List[nn.Parameter],
                           other_rows: List[List[Optional[Tensor]]],
                           reg_others: Optional[List[Optional[Tensor]]] = None
                           ) -> None:
        """``Σ_k h_k ∂L_k/∂others (+ ∂reg/∂others)`` into ``.grad``."""
        if not other_rows and reg_others is None:
            return
        head_w = self.balancer.head_weights(weights, step.values, step.tasks)
        scale = 1.0 / step.grad_scale
        for i, p in enumerate(others):
            total = None
            for r, row in zip(step.graph_rows, other_rows):
                g = row[i]
                if g is not None:
                    term = g * (head_w[r].to(g) * scale)
                    total = term if total is None else total + term
            if reg_others is not None and reg_others[i] is not None:
                total = reg_others[i] if total is None else \
                    total + reg_others[i]
            if total is not None:
                add_to_grads([p], [total], step.factor)


def nested(tensors: Sequence[Tensor]) -> bool:
    return bool(nested_pairs(tensors))


def split_rows(jac: Tensor, tensors: Sequence[Tensor]) -> List[Tensor]:
    """Column blocks of ``jac`` ``[R, Σ numel]`` per tensor."""
    out, offset = [], 0
    for t in tensors:
        out.append(jac[:, offset:offset + t.numel()])
        offset += t.numel()
    return out


def rows_matrix(rep_rows: List[List[Tensor]], step: StepInputs,
                rep: Sequence[Tensor]) -> Tensor:
    """``[len(rows), Σ numel(rep)]`` with the rows of this rank's graph
    rows filled (the other rows are zero here, summed in the Gramian)."""
    size = sum(t.numel() for t in rep)
    dtype = torch.promote_types(torch.float32,
                                rep[0].dtype if rep else torch.float32)
    device = rep[0].device if rep else torch.device('cpu')
    jac = torch.zeros(len(step.rows), size, dtype=dtype, device=device)
    scale = step.grad_scale
    for r, row in zip(step.graph_rows, rep_rows):
        offset = 0
        for g in row:
            jac[r, offset:offset + g.numel()] = g.reshape(-1)
            offset += g.numel()
    if scale != 1.0:
        jac /= scale
    return jac


def full_rows(pieces: List[Tensor], step: StepInputs) -> List[Tensor]:
    """Pieces with one row per active task (``step.rows``): zero rows for
    the tasks without a graph on this rank (every rank must sum the same
    shapes)."""
    graph_rows = step.graph_rows
    if len(graph_rows) == len(step.rows):
        return pieces
    index = torch.tensor(graph_rows, dtype=torch.long)
    out = []
    for t in pieces:
        full = t.new_zeros(len(step.rows), *t.shape[1:])
        out.append(full.index_copy_(0, index.to(t.device), t))
    return out
