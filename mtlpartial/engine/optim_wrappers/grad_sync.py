# Copyright (c) mtlpartial contributors. All rights reserved.
"""Cross-rank sums of the multi-task step (SUM: losses are normalised by
global counts, so the global-batch gradient is the sum of the ranks'
gradients).

Two users:

* the gradient methods (``balancer.input`` GRAMIAN or JACOBIAN), whose
  forward runs under DDP's ``no_sync``: the per-task Jacobian (parameter
  mode) or its Gramian (rep mode) and the gradients of the other parameters
  are summed here;
* the loss weightings on a model that is **not** DDP-wrapped (the optim
  wrapper used directly in a process group): every gradient is summed here
  before the step. Under :class:`MultiTaskDistributedWrapper` DDP's reducer
  does that during the backward instead.

Nothing is copied into one flat buffer: a large tensor is reduced in place;
small ones (biases, norms) share buckets of ``bucket_mb`` MiB, flattened
one bucket at a time. The collectives are asynchronous
(:class:`AsyncSum`), so the caller can keep computing (the representation
backward of rep mode) while they run.
"""
from typing import List, Sequence

import torch
import torch.distributed as torch_dist
import torch.nn as nn
from mmengine.dist import all_reduce, get_world_size
from torch import Tensor
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

#: bucket size of the small tensors, as torch DDP's ``bucket_cap_mb``
BUCKET_MB = 25.0
#: tensors of at least this many bytes are reduced in place, on their own
IN_PLACE_BYTES = 1 << 20


def sum_across_ranks(tensor: Tensor) -> Tensor:
    """All-reduce (SUM) in place; a no-op on one rank."""
    all_reduce(tensor, op='sum')
    return tensor


class AsyncSum:
    """SUM all-reduce of ``tensors`` across ranks, started now, finished by
    :meth:`wait` (which writes the sums back into the tensors).

    Large contiguous tensors are reduced in place; the others are grouped
    into buckets of at most ``bucket_mb`` MiB, each flattened into one
    buffer. A no-op on one rank.
    """

    def __init__(self, tensors: Sequence[Tensor],
                 bucket_mb: float = BUCKET_MB) -> None:
        self._pending = []  # (work, buffer or None, bucket tensors)
        if get_world_size() == 1:
            return
        cap = int(bucket_mb * 2**20)
        bucket: List[Tensor] = []
        size = 0
        for t in tensors:
            if t.numel() == 0:
                continue
            nbytes = t.numel() * t.element_size()
            if t.is_contiguous() and nbytes >= IN_PLACE_BYTES:
                self._start([t], in_place=True)
                continue
            if bucket and (size + nbytes > cap or t.dtype != bucket[0].dtype
                           or t.device != bucket[0].device):
                self._start(bucket)
                bucket, size = [], 0
            bucket.append(t)
            size += nbytes
        if bucket:
            self._start(bucket)

    def _start(self, bucket: List[Tensor], in_place: bool = False) -> None:
        buffer = bucket[0] if in_place else _flatten_dense_tensors(bucket)
        work = torch_dist.all_reduce(buffer, async_op=True)
        self._pending.append((work, None if in_place else buffer, bucket))

    def wait(self) -> None:
        for work, buffer, bucket in self._pending:
            work.wait()
            if buffer is not None:
                for t, s in zip(bucket, _unflatten_dense_tensors(buffer,
                                                                 bucket)):
                    t.copy_(s)
        self._pending = []


def sum_grads_async(params: Sequence[nn.Parameter],
                    bucket_mb: float = BUCKET_MB) -> AsyncSum:
    """Start summing ``.grad`` across ranks; a missing grad counts as
    zeros (so that every rank issues the same collectives)."""
    if get_world_size() == 1 or not params:
        return AsyncSum(())
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    return AsyncSum([p.grad for p in params], bucket_mb)


def all_reduce_grads(params: Sequence[nn.Parameter],
                     bucket_mb: float = BUCKET_MB) -> None:
    """Sum ``.grad`` across ranks (see :func:`sum_grads_async`)."""
    sum_grads_async(params, bucket_mb).wait()
