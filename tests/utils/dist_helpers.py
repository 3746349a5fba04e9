# Copyright (c) mtlpartial contributors. All rights reserved.
"""Helpers of the two-process (CPU, gloo) equivalence tests."""
import os
import socket
from typing import Callable

import torch


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def rank_step_worker(rank: int, world: int, port: int, build: Callable,
                     step: Callable, data: dict, out: str) -> None:
    """``mp.spawn`` target: join a gloo group of ``world`` processes, wrap
    ``build()`` in ``MultiTaskDistributedWrapper``, run ``step(model,
    part)`` on this rank's equal share of the packed batch ``data``; rank
    0 saves the returned ``(loss, params)`` to ``out``."""
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK=str(rank), WORLD_SIZE=str(world))
    torch.distributed.init_process_group('gloo', rank=rank, world_size=world)
    try:
        from mtlpartial.engine.model_wrappers import \
            MultiTaskDistributedWrapper
        model = MultiTaskDistributedWrapper(build())
        share = len(data['inputs']) // world
        part = {k: v[rank * share:(rank + 1) * share]
                for k, v in data.items()}
        loss, params = step(model, part)
        if rank == 0:
            torch.save(dict(loss=loss, params=params), out)
    finally:
        torch.distributed.destroy_process_group()
