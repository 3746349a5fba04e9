# Copyright (c) mtlpartial contributors. All rights reserved.
"""CPU distributed start-up (gloo) for the training and test tools.

Collectives use ``mmengine.dist`` (``all_reduce`` with ``op='sum'``,
``all_reduce_params``, ``broadcast``): mtlpartial normalises every loss by
*global* counts, so the gradient of the global-batch loss is the **sum**
over ranks of the local gradients (see docs/design.md).
"""
import time

import torch


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


#: seconds ``close_distributed`` releases the GIL after its barrier
SETTLE_SECONDS = 0.2


def close_distributed() -> None:
    """Wait for every rank, then destroy the default process group.

    Called by the tools at the end of a distributed run. It works around a
    deadlock of torch 2.13's gloo teardown (pytorch/pytorch#56297): a gloo
    worker thread frees each finished work object, and when that work holds
    a tensor that Python has seen (the model's own all-reduces), freeing it
    takes the GIL. ``~ProcessGroupGloo`` joins those threads while its
    caller holds the GIL, so a group freed (by ``destroy_process_group`` or
    with the DDP reducer that holds it) while a worker still frees a work
    object hangs the process for ever. This hung CI once and a local
    clean-clone run once; py-spy on the hung rank showed
    ``~Reducer -> ~ProcessGroupGloo -> thread::join`` against
    ``~AsyncAllreduceWork -> decref_pyobject -> gil_scoped_acquire``.

    The barrier makes every earlier collective complete; a worker may still
    be about to free its last work object, so the GIL is then released for
    ``SETTLE_SECONDS`` to let it finish. This narrows the race to a worker
    descheduled for that long between two of its own statements; it cannot
    close it, since torch offers no way to wait for its worker threads.
    (The spawned test ranks also end with ``os._exit``, so they never free
    their DDP model.) Does nothing outside a process group.
    """
    if torch.distributed.is_available() and \
            torch.distributed.is_initialized():
        torch.distributed.barrier()
        time.sleep(SETTLE_SECONDS)
        torch.distributed.destroy_process_group()
