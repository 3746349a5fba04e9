# Copyright (c) mtlpartial contributors. All rights reserved.
"""Per-task gradients with one batched vector-Jacobian product.

``task_jacobian(outputs, inputs)`` returns the ``[R, P]`` matrix whose row r
is the flattened gradient of ``outputs[r]`` w.r.t. ``inputs`` (parameters
or representation tensors), computed with a single
``torch.autograd.grad(..., is_grads_batched=True)`` over the stacked
outputs (vmap over the backward) instead of R backward passes. If the
graph contains an op without a vmap rule, it falls back to a loop.
"""
from typing import List, Sequence

import torch
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
