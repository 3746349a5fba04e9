# Copyright (c) mtlpartial contributors. All rights reserved.
"""Two gloo processes with batch b give the same update as one process with
batch 2b (global loss normalisation, SUM all-reduce) for every gradient
path of MultiTaskOptimWrapper."""
import os
import tempfile

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from tests.utils.dist_helpers import free_port, rank_group, run_ranks
from .fake_model import FakeMultiTaskModel, make_data

CONFIGS = [
    ('EW', dict(type='EW'), False),
    ('PCGrad', dict(type='PCGrad', seed=5), False),
    ('MGDA-UB', dict(type='MGDA'), True),
    ('Uncertainty', dict(type='Uncertainty'), False),
    ('RLW-unseeded', dict(type='RLW'), False),
]
WORLD = 2
STEPS = 2


def global_batches():
    out = []
    for s in range(STEPS):
        x, y, labelled = make_data(batch=8, seed=100 + s)
        labelled[:4, 1] = False  # rank 0 has no t1 label, rank 1 has some
        labelled[4, 1] = True
        out.append((x, y, labelled))
    return out


def run(balancer, rep_grad, rank=None):
    torch.manual_seed(0)
    model = FakeMultiTaskModel().double()
    torch.manual_seed(1234 if rank in (None, 0) else 999)
    init_default_scope('mtlpartial')
    wrapper = build_optim_wrapper(
        model,
        dict(type='MultiTaskOptimWrapper',
             constructor='MultiTaskOptimWrapperConstructor',
             optimizer=dict(type='SGD', lr=0.5), balancer=balancer,
             rep_grad=rep_grad))
    for x, y, labelled in global_batches():
        counts = labelled.sum(0).double()
        if rank is not None:
            sl = slice(rank * 4, (rank + 1) * 4)
            x, y, labelled = x[sl], y[sl], labelled[sl]
        model.step(wrapper, x, y, labelled, counts=counts, batch=8)
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def _worker(rank, port, path):
    torch.set_num_threads(1)
    with rank_group(rank, WORLD, port):
        results = {
            name: run(cfg, rep, rank)
            for name, cfg, rep in CONFIGS
        }
        if rank == 0:
            torch.save(results, path)


@pytest.mark.skipif(not torch.distributed.is_available(),
                    reason='torch.distributed unavailable')
def test_two_processes_match_one_process():
    expected = {name: run(cfg, rep) for name, cfg, rep in CONFIGS}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'rank0.pth')
        # fork: the children inherit the imported modules (a spawned child
        # re-imports mtlpartial/mmseg, ~20 s on 2 cores)
        run_ranks(
            _worker, args=(free_port(), path), nprocs=WORLD,
            start_method='fork')
        got = torch.load(path)
    for name, _, _ in CONFIGS:
        moved = False
        for n, p in expected[name].items():
            torch.testing.assert_close(
                got[name][n], p, rtol=1e-6, atol=1e-6, msg=f'{name}: {n}')
            moved |= bool(
                (p - run_initial()[n]).abs().max() > 1e-4)
        assert moved, name


_INITIAL = {}


def run_initial():
    if not _INITIAL:
        torch.manual_seed(0)
        model = FakeMultiTaskModel().double()
        _INITIAL.update(
            {n: p.detach().clone() for n, p in model.named_parameters()})
    return _INITIAL
