# Copyright (c) mtlpartial contributors. All rights reserved.
"""Per-task gradients.

* :func:`task_vjps`: the gradient of each task loss w.r.t. the shared
  representation and the task-specific parameters, one ``autograd.grad``
  per task (each runs only its own head).
* :func:`chain_jacobian`: the task Jacobian w.r.t. the shared parameters,
  as per-parameter pieces ``[R, *p.shape]``, from one vmapped VJP of the
  representation with the rows of :func:`task_vjps`
  (``torch.autograd.grad(..., is_grads_batched=True)``); a loop over the
  rows if an op lacks a vmap rule.
* :func:`task_jacobian`: the flat ``[R, P]`` matrix of the stacked
  outputs w.r.t. ``inputs`` with one vmapped VJP (the fallback when the
  losses cannot be chained through the representation).
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor


def nested_pairs(tensors: Sequence[Tensor]) -> List[tuple]:
    """Pairs ``(i, j)`` where ``tensors[i]`` was computed from
    ``tensors[j]`` (a walk of the autograd graph from each tensor).

    A rep-grad update needs representation tensors that do not depend on
    each other: the gradient w.r.t. an ancestor already contains the path
    through its descendants.
    """
    nodes = {t.grad_fn: j for j, t in enumerate(tensors)
             if t.grad_fn is not None}
    pairs = []
    for i, t in enumerate(tensors):
        seen, stack = set(), [f for f, _ in (t.grad_fn.next_functions
                                             if t.grad_fn else ())]
        while stack:
            fn = stack.pop()
            if fn is None or fn in seen:
                continue
            seen.add(fn)
            if fn in nodes and nodes[fn] != i:
                pairs.append((i, nodes[fn]))
            stack.extend(f for f, _ in fn.next_functions)
    return pairs


def check_representation(tensors: Sequence[Tensor]) -> None:
    """Reject representation tensors that depend on each other.

    Raises:
        ValueError: naming the dependent pair (heads reading several nested
            backbone levels).
    """
    nested = nested_pairs(tensors) if len(tensors) > 1 else []
    if nested:
        raise ValueError(
            'MultiTaskOptimWrapper(rep_grad=True): the shared representation '
            'tensors must not depend on each other, but tensor '
            f'{nested[0][0]} of MultiTaskLosses.shared_representation is '
            f'computed from tensor {nested[0][1]} (heads reading several '
            'nested backbone levels); use rep_grad=False')


def bypasses(losses: Sequence[Tensor], representation: Sequence[Tensor],
             params: Sequence[nn.Parameter]) -> bool:
    """Whether a loss reaches one of ``params`` by a path that does not go
    through ``representation`` (a walk of the graph between them, which
    stops at the representation)."""
    stop = {t.grad_fn for t in representation if t.grad_fn is not None}
    targets = {id(p) for p in params}
    seen = set()
    stack = [loss.grad_fn for loss in losses if loss.grad_fn is not None]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen or fn in stop:
            continue
        seen.add(fn)
        if id(getattr(fn, 'variable', None)) in targets:
            return True
        stack.extend(f for f, _ in fn.next_functions)
    return False


def task_vjps(losses: Sequence[Tensor], representation: Sequence[Tensor],
              params: Sequence[nn.Parameter]
              ) -> Tuple[List[List[Tensor]], List[List[Optional[Tensor]]]]:
    """Gradients of each loss w.r.t. ``representation`` (zeros where it
    does not reach a tensor) and ``params`` (None where it does not reach
    one); graph retained. Each call runs only the part of the graph
    between the loss and those inputs."""
    inputs = list(representation) + list(params)
    n = len(representation)
    rep_rows, param_rows = [], []
    if not inputs:
        return [[] for _ in losses], [[] for _ in losses]
    for loss in losses:
        grads = torch.autograd.grad(
            loss, inputs, retain_graph=True, allow_unused=True)
        rep_rows.append([torch.zeros_like(t) if g is None else g
                         for t, g in zip(representation, grads[:n])])
        param_rows.append(list(grads[n:]))
    return rep_rows, param_rows


def chain_jacobian(representation: Sequence[Tensor],
                   rows: Sequence[Sequence[Tensor]],
                   params: Sequence[nn.Parameter],
                   batched: bool = True) -> List[Tensor]:
    """``[R, *p.shape]`` per parameter: the VJP of ``representation`` with
    each row of gradients (:func:`task_vjps`), graph retained.

    One vmapped backward for all rows (``batched``), or a loop if the
    graph has an op without a vmap rule.
    """
    n = len(rows)
    if n == 0:
        return [p.new_zeros(0, *p.shape) for p in params]
    rep = list(representation)
    grads = None
    if n == 1:
        grads = [None if g is None else g.unsqueeze(0)
                 for g in torch.autograd.grad(
                     rep, params, list(rows[0]), retain_graph=True,
                     allow_unused=True)]
    elif batched:
        stacked = [torch.stack([row[i] for row in rows])
                   for i in range(len(rep))]
        try:
            grads = list(torch.autograd.grad(
                rep, params, stacked, retain_graph=True, allow_unused=True,
                is_grads_batched=True))
        except RuntimeError:
            grads = None
    if grads is None:
        per_row = [torch.autograd.grad(rep, params, list(row),
                                       retain_graph=True, allow_unused=True)
                   for row in rows]
        grads = [None if all(r[i] is None for r in per_row) else
                 torch.stack([torch.zeros_like(p) if r[i] is None else r[i]
                              for r in per_row])
                 for i, p in enumerate(params)]
    return [p.new_zeros(n, *p.shape) if g is None else g
            for g, p in zip(grads, params)]


def add_to_grads(params: Sequence[nn.Parameter], grads: Sequence[Tensor],
                 factor: float) -> None:
    """``p.grad += factor · g`` (creating ``p.grad`` when it is None)."""
    for p, g in zip(params, grads):
        g = g.to(p.dtype)
        if p.grad is None:
            p.grad = (g * factor).view_as(p)
        else:
            p.grad.add_(g.view_as(p), alpha=factor)


def flat_size(tensors: Sequence[Tensor]) -> int:
    return sum(t.numel() for t in tensors)


def task_jacobian(outputs: Sequence[Tensor],
                  inputs: Sequence[Tensor],
                  batched: bool = True,
                  dtype: torch.dtype = torch.float32) -> Tensor:
    """``[len(outputs), Σ numel(inputs)]`` Jacobian (graph retained).

    Args:
        outputs (Sequence[Tensor]): scalar tensors with graph.
        inputs (Sequence[Tensor]): leaves or intermediate tensors.
        batched (bool): use one vmap-batched VJP. Defaults to True.
        dtype (torch.dtype): dtype of the result (at least float32).
    """
    n = len(outputs)
    device = inputs[0].device if inputs else torch.device('cpu')
    out = torch.zeros(n, flat_size(inputs), dtype=dtype, device=device)
    if n == 0 or not inputs:
        return out
    stacked = torch.stack([o.reshape(()) for o in outputs])
    grads: List
    if n == 1:
        grads = [
            None if g is None else g.unsqueeze(0)
            for g in torch.autograd.grad(
                stacked[0], inputs, retain_graph=True, allow_unused=True)
        ]
    else:
        eye = torch.eye(n, dtype=stacked.dtype, device=stacked.device)
        grads = None
        if batched:
            try:
                grads = list(
                    torch.autograd.grad(
                        stacked,
                        inputs,
                        grad_outputs=eye,
                        retain_graph=True,
                        allow_unused=True,
                        is_grads_batched=True))
            except RuntimeError:
                grads = None
        if grads is None:
            rows = [
                torch.autograd.grad(
                    stacked[r], inputs, retain_graph=True, allow_unused=True)
                for r in range(n)
            ]
            grads = [
                None if all(row[i] is None for row in rows) else torch.stack([
                    torch.zeros_like(t) if row[i] is None else row[i]
                    for row in rows
                ]) for i, t in enumerate(inputs)
            ]
    offset = 0
    for g, t in zip(grads, inputs):
        size = t.numel()
        if g is not None:
            out[:, offset:offset + size] = g.reshape(n, size)
        offset += size
    return out


def split_like(flat: Tensor, tensors: Sequence[Tensor]) -> List[Tensor]:
    """Views of ``flat`` shaped like ``tensors``."""
    out, offset = [], 0
    for t in tensors:
        out.append(flat[offset:offset + t.numel()].view_as(t))
        offset += t.numel()
    return out
