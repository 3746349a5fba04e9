# Copyright (c) mtlpartial contributors. All rights reserved.
"""Distributed helpers with exact global-batch semantics.

mtlpartial normalises every loss by *global* counts (labelled samples or
images of the whole distributed batch). The gradient of the global-batch
loss is then the **sum** over ranks of the local gradients, so gradients
are all-reduced with ``SUM`` (not averaged). All helpers are no-ops when
not distributed.
"""
from typing import Iterable, List

import torch
from mmengine.dist import get_world_size, is_distributed
from torch import Tensor


def global_sum(value: Tensor) -> Tensor:
    """All-reduce (sum) a tensor across ranks; returns a new tensor."""
    out = value.detach().clone()
    if is_distributed() and get_world_size() > 1:
        torch.distributed.all_reduce(out, op=torch.distributed.ReduceOp.SUM)
    return out


def all_reduce_grads(params: Iterable[torch.nn.Parameter]) -> None:
    """Sum the ``.grad`` of ``params`` across ranks (coalesced, in place).

    Parameters whose grad is None on this rank contribute zeros, so every
    rank issues the same collective.
    """
    if not (is_distributed() and get_world_size() > 1):
        return
    params = [p for p in params if p.requires_grad]
    if not params:
        return
    grads: List[Tensor] = []
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        grads.append(p.grad)
    flat = torch.cat([g.reshape(-1) for g in grads])
    torch.distributed.all_reduce(flat, op=torch.distributed.ReduceOp.SUM)
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset:offset + n].view_as(g))
        offset += n


def init_cpu_distributed(launcher: str) -> bool:
    """Initialise a gloo process group for CPU-only distributed runs.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which fails
    without CUDA. When CUDA is unavailable and a launcher is used, we create
    the process group ourselves (torchrun's ``env://`` variables, or Slurm's
    via ``SLURM_PROCID``/``SLURM_NTASKS`` and ``MASTER_ADDR``/``MASTER_PORT``);
    the Runner then sees an initialised group and skips ``init_dist``.

    Returns:
        bool: True if this function initialised the group.
    """
    import os
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if torch.distributed.is_initialized():
        return False
    if launcher == 'slurm':
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID',
                                                           '0'))
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            import subprocess
            nodes = os.environ['SLURM_NODELIST']
            os.environ['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {nodes} | head -n1')
    elif launcher != 'pytorch':
        raise ValueError(f'CPU distributed training supports the pytorch '
                         f'and slurm launchers, got {launcher!r}')
    torch.distributed.init_process_group(backend='gloo', init_method='env://')
    return True
