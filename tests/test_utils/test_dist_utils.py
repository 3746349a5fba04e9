# Copyright (c) mtlpartial contributors. All rights reserved.
import pytest
import torch

from mtlpartial.utils.dist_utils import close_distributed, init_cpu_distributed
from tests.utils.dist_helpers import free_port


def test_close_distributed_outside_a_group_does_nothing():
    assert not torch.distributed.is_initialized()
    close_distributed()
    assert not torch.distributed.is_initialized()


@pytest.mark.skipif(not torch.distributed.is_available(),
                    reason='torch.distributed unavailable')
def test_close_distributed_destroys_the_group_after_ddp(monkeypatch):
    """The tools' end of a run: a gloo group with a DDP model that has
    just reduced gradients is closed, and the model can then be freed."""
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', str(free_port()))
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    if torch.cuda.is_available():
        pytest.skip('init_cpu_distributed leaves CUDA runs to mmengine')
    assert init_cpu_distributed('pytorch')
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(3, 2))
    model(torch.randn(4, 3)).sum().backward()
    close_distributed()
    assert not torch.distributed.is_initialized()
    del model


def test_close_distributed_releases_the_gil_between_barrier_and_destroy(
        monkeypatch):
    """The order that avoids torch 2.13's gloo teardown deadlock: every
    collective completes (barrier), the gloo workers get the GIL to free
    their last work objects (sleep), and only then is the group freed."""
    import mtlpartial.utils.dist_utils as dist_utils
    calls = []
    dist = torch.distributed
    monkeypatch.setattr(dist, 'is_initialized', lambda: True)
    monkeypatch.setattr(dist, 'barrier', lambda: calls.append('barrier'))
    monkeypatch.setattr(dist_utils.time, 'sleep',
                        lambda s: calls.append(('sleep', s)))
    monkeypatch.setattr(dist, 'destroy_process_group',
                        lambda: calls.append('destroy'))
    close_distributed()
    assert calls == ['barrier', ('sleep', dist_utils.SETTLE_SECONDS),
                     'destroy']
    assert dist_utils.SETTLE_SECONDS > 0


def test_cpu_launcher_must_be_pytorch_or_slurm():
    if torch.cuda.is_available():
        pytest.skip('init_cpu_distributed leaves CUDA runs to mmengine')
    with pytest.raises(ValueError, match='pytorch and slurm'):
        init_cpu_distributed('mpi')
