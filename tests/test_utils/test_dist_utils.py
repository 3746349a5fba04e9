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


def test_cpu_launcher_must_be_pytorch_or_slurm():
    if torch.cuda.is_available():
        pytest.skip('init_cpu_distributed leaves CUDA runs to mmengine')
    with pytest.raises(ValueError, match='pytorch and slurm'):
        init_cpu_distributed('mpi')
