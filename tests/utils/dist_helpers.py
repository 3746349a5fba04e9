# Copyright (c) mtlpartial contributors. All rights reserved.
"""Helpers of the two-process (CPU, gloo) equivalence tests."""
import contextlib
import os
import socket
import time
from typing import Callable, Iterator, Sequence

import torch
import torch.multiprocessing as mp

from mtlpartial.utils.dist_utils import close_distributed

#: seconds a multi-process test may take before its ranks are killed
RANKS_TIMEOUT = 300


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_ranks(fn: Callable, args: Sequence, nprocs: int,
              start_method: str = 'spawn',
              timeout: float = RANKS_TIMEOUT) -> None:
    """``mp.start_processes(fn, args, nprocs)``, but a rank that hangs
    fails the test after ``timeout`` seconds (its processes are killed)
    instead of blocking the whole suite."""
    context = mp.start_processes(fn, args=tuple(args), nprocs=nprocs,
                                 start_method=start_method, join=False)
    deadline = time.monotonic() + timeout
    # join() returns False while some rank still runs (one exit at a time)
    while not context.join(timeout=max(deadline - time.monotonic(), 0)):
        if time.monotonic() < deadline:
            continue
        for process in context.processes:
            if process.is_alive():
                process.kill()
        raise TimeoutError(
            f'{getattr(fn, "__name__", fn)}: {nprocs} ranks did not finish '
            f'within {timeout} s (killed)')


@contextlib.contextmanager
def rank_group(rank: int, world: int, port: int) -> Iterator[None]:
    """A rank's gloo group on the loopback ``port`` for the ``with`` body.

    It ends with ``close_distributed`` after a normal exit (barrier and a
    pause, so that no gloo thread still frees tensors when the group is
    freed), with only ``destroy_process_group`` after an error, since the
    other rank may never reach a barrier."""
    torch.distributed.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
        world_size=world)
    try:
        yield
    except BaseException:
        torch.distributed.destroy_process_group()
        raise
    close_distributed()


def rank_step_worker(rank: int, world: int, port: int, build: Callable,
                     step: Callable, data: dict, out: str) -> None:
    """``run_ranks`` target: join a gloo group of ``world`` processes, wrap
    ``build()`` in ``MultiTaskDistributedWrapper``, run ``step(model,
    part)`` on this rank's equal share of the packed batch ``data``; rank
    0 saves the returned ``(loss, params)`` to ``out``."""
    with rank_group(rank, world, port):
        from mtlpartial.engine.model_wrappers import \
            MultiTaskDistributedWrapper
        model = MultiTaskDistributedWrapper(build())
        share = len(data['inputs']) // world
        part = {k: v[rank * share:(rank + 1) * share]
                for k, v in data.items()}
        loss, params = step(model, part)
        if rank == 0:
            torch.save(dict(loss=loss, params=params), out)
    # nothing is left to do: skip freeing the DDP model, whose teardown can
    # deadlock on torch 2.13 (see close_distributed; its pause narrows
    # that race, this exit removes it for the test ranks)
    os._exit(0)
