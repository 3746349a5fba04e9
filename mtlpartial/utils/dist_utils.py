# Copyright (c) mtlpartial contributors. All rights reserved.
"""CPU distributed start-up (gloo) for the training and test tools.

Collectives use ``mmengine.dist`` (``all_reduce`` with ``op='sum'``,
``all_reduce_params``, ``broadcast``): mtlpartial normalises every loss by
*global* counts, so the gradient of the global-batch loss is the **sum**
over ranks of the local gradients (see docs/design.md).
"""
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


def close_distributed() -> None:
    """Wait for every rank, then destroy the default process group.

    Called by the tools at the end of a distributed run. The barrier gives
    gloo's worker threads the GIL to finish releasing the tensors of their
    last collectives: on torch 2.13, freeing the process group (for
    instance with the DDP reducer that holds it) while a worker still
    releases one deadlocks the process at exit (``~ProcessGroupGloo`` joins
    a thread that waits for the GIL its caller holds; a blocking destructor
    called with the GIL held, pytorch/pytorch#56297). It hung CI once, in a
    two-rank test whose model was freed right after its last all-reduce.
    Does nothing outside a process group.
    """
    if torch.distributed.is_available() and \
            torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
