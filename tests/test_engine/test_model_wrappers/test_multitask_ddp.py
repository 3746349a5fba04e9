# Copyright (c) mtlpartial contributors. All rights reserved.
"""MultiTaskDistributedWrapper (torch DDP) with two gloo processes: each
rank trains on half of every global batch, and the parameters after the
steps equal those of one process on the whole batches, although the ranks'
labelled counts differ. Cases: a regularizer with its own network (MTPSL),
gradient methods in both modes (forward under ``no_sync``), a learnable
loss weighting, gradient accumulation with a head that gets no gradient on
one rank in one micro-batch, and a rank without any label. Also: a NaN on
one rank stops both before any update, and batch-norm buffers follow
rank 0 for loss weightings and gradient methods alike."""
import copy
import os
import tempfile

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mtlpartial.engine  # noqa: F401
from mtlpartial.engine.model_wrappers import MultiTaskDistributedWrapper
from mtlpartial.registry import MODELS
from mtlpartial.utils.dist_utils import close_distributed
from tests.test_engine.test_distributed_equivalence import \
    BNFreeConvNet  # noqa: F401  (registers the backbone)
from tests.utils.demo_inputs import DEMO_TASKS, make_packed_batch
from tests.utils.dist_helpers import free_port, rank_group, run_ranks

WORLD = 2
# per step, the global batch: rank 0 takes the first half, rank 1 the rest
LABELS = [
    [('semseg', ), ('semseg', 'normal'), ('depth', ), ('depth', 'normal')],
    [('semseg', 'depth'), ('normal', ), ('semseg', ), ('normal', )],
]
# rank 1 holds no label at all
UNLABELLED_RANK = [[('semseg', ), ('depth', 'normal'), (), ()]]
MTPSL = dict(type='MTPSL', channels=(8, 8), convs_per_stage=(1, 1),
             in_width=8, feat_channels=8, pred_encoding='soft')
CASES = dict(
    mtpsl=dict(regularizers=[MTPSL]),
    pcgrad=dict(balancer=dict(type='PCGrad', seed=3)),
    mgda_rep=dict(balancer=dict(type='MGDA'), rep_grad=True),
    pcgrad_mtpsl=dict(balancer=dict(type='PCGrad', seed=3),
                      regularizers=[MTPSL]),
    uncertainty=dict(balancer=dict(type='Uncertainty')),
    accumulate=dict(accumulative_counts=2),
    unlabelled_rank=dict(labels=UNLABELLED_RANK),
)


def build(case):
    init_default_scope('mtlpartial')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='MultiTaskModel', tasks=DEMO_TASKS,
        backbone=dict(type='BNFreeConvNet'),
        heads=dict(type='ConvHead', in_channels=8, init_cfg=None),
        regularizers=case.get('regularizers', [])))
    return model


def optim(model, case):
    return build_optim_wrapper(model, dict(
        type='MultiTaskOptimWrapper',
        constructor='MultiTaskOptimWrapperConstructor',
        optimizer=dict(type='SGD', lr=0.5),
        balancer=case.get('balancer', dict(type='EW')),
        rep_grad=case.get('rep_grad', False),
        accumulative_counts=case.get('accumulative_counts', 1)))


def batches(case, views, rank=None):
    out = []
    for s, labels in enumerate(case.get('labels', LABELS)):
        data = make_packed_batch(labels, num_views=views, h=16, w=16, seed=s)
        if rank is not None:
            half = len(labels) // WORLD
            data = {k: v[rank * half:(rank + 1) * half]
                    for k, v in data.items()}
        out.append(data)
    return out


def train(case, rank=None):
    model = build(case)
    views = model.num_views
    net = model if rank is None else MultiTaskDistributedWrapper(model)
    wrapper = optim(net, case)
    for data in batches(case, views, rank):
        net.train_step(data, wrapper)
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def nan_step(rank):
    """Rank 1's input is NaN: both ranks must stop before the update."""
    case = {}
    model = build(case)
    net = MultiTaskDistributedWrapper(model)
    wrapper = optim(net, case)
    data = batches(case, 1, rank)[0]
    if rank == 1:
        data['inputs'] = [torch.full_like(x, float('nan'))
                          for x in data['inputs']]
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    try:
        net.train_step(data, wrapper)
    except FloatingPointError:
        raised = True
    else:
        raised = False
    unchanged = all(torch.equal(before[k], v)
                    for k, v in model.named_parameters())
    return dict(raised=raised, unchanged=unchanged)


def buffers_at_forward(rank, case):
    """BN running means seen by the second forward on each rank."""
    init_default_scope('mtlpartial')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='MultiTaskModel', tasks=DEMO_TASKS,
        backbone=dict(type='MTANSegNet', filters=(4, 4, 4, 4, 4)),
        heads=dict(type='ConvHead', in_channels=4)))
    seen = []
    model.backbone.register_forward_pre_hook(
        lambda m, args: seen.append(
            [b.clone() for n, b in m.named_buffers() if 'running_mean' in n]))
    net = MultiTaskDistributedWrapper(model)
    wrapper = optim(net, case)
    for s in range(2):
        data = make_packed_batch(LABELS[s][rank * 2:rank * 2 + 2], h=32,
                                 w=32, seed=10 * s + rank)
        net.train_step(data, wrapper)
    return seen[1]


def _worker(rank, port, path):
    torch.set_num_threads(1)
    with rank_group(rank, WORLD, port):
        results = {name: train(case, rank) for name, case in CASES.items()}
        results['nan'] = nan_step(rank)
        results['buffers_ew'] = buffers_at_forward(rank, {})
        results['buffers_pcgrad'] = buffers_at_forward(
            rank, dict(balancer=dict(type='PCGrad', seed=3)))
        torch.save(results, path + str(rank))


@pytest.mark.skipif(not torch.distributed.is_available(),
                    reason='torch.distributed unavailable')
def test_ddp_matches_one_process():
    expected = {name: train(case) for name, case in CASES.items()}
    initial = {k: v.detach().clone()
               for k, v in build({}).named_parameters()}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'rank')
        # fork: the children inherit the imported modules
        run_ranks(_worker, args=(free_port(), path), nprocs=WORLD,
                  start_method='fork')
        got = [torch.load(path + str(r), weights_only=True)
               for r in range(WORLD)]
    for name in CASES:
        start = dict(build(CASES[name]).named_parameters())
        for k, v in expected[name].items():
            # float32 sums in another order, two SGD steps of lr 0.5: equal
            # to 1e-4 of the update (a lost rank or a factor 2 is ~100%)
            tol = 1e-6 + 1e-4 * float((v - start[k].detach()).abs().max())
            for rank in range(WORLD):
                torch.testing.assert_close(
                    got[rank][name][k], v, rtol=0, atol=tol,
                    msg=f'{name}, rank {rank}: {k}')
        moved = [k for k, v in expected[name].items()
                 if k in initial and not torch.equal(v, initial[k])]
        assert len(moved) >= len(initial) - 2, (name, moved)
    assert [g['nan'] for g in got] == [dict(raised=True, unchanged=True)] * 2
    for key in ('buffers_ew', 'buffers_pcgrad'):
        for a, b in zip(got[0][key], got[1][key]):
            torch.testing.assert_close(a, b, rtol=0, atol=0, msg=key)
        assert any(bool(b.abs().sum() > 0) for b in got[0][key]), key


def test_cpu_model_takes_no_device_ids():
    """mmengine's runner passes ``device_ids=[LOCAL_RANK]``, which torch DDP
    refuses for a CPU module; the wrapper drops it (one-process group)."""
    one_process_group()
    try:
        model = build({})
        net = MultiTaskDistributedWrapper(copy.deepcopy(model),
                                          device_ids=[0])
        log = net.train_step(batches({}, 1)[0], optim(net, {}))
        assert torch.isfinite(log['loss'])
        assert net.find_unused_parameters
    finally:
        close_distributed()


def one_process_group():
    store = torch.distributed.TCPStore('127.0.0.1', free_port(), 1, True)
    torch.distributed.init_process_group('gloo', store=store, rank=0,
                                         world_size=1)


def test_syncbn_on_cpu_is_refused():
    init_default_scope('mtlpartial')
    model = MODELS.build(dict(
        type='MultiTaskModel', tasks=DEMO_TASKS,
        backbone=dict(type='MTANSegNet', filters=(4, 4, 4, 4, 4)),
        heads=dict(type='ConvHead', in_channels=4)))
    model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    one_process_group()
    try:
        with pytest.raises(ValueError, match="sync_bn='torch'.*needs CUDA"):
            MultiTaskDistributedWrapper(model)
    finally:
        close_distributed()


def test_rank_without_any_graph_is_explained():
    """A rank whose losses have no graph joins DDP's reduction through the
    shared representation; without one it cannot, and says why."""
    from mtlpartial.engine.optim_wrappers import MultiTaskOptimWrapper
    from mtlpartial.engine.optim_wrappers.step_inputs import StepInputs
    from mtlpartial.structures import MultiTaskLosses
    zero = torch.zeros(())
    losses = MultiTaskLosses(task_names=('a', 'b'), task_losses=[zero, zero],
                             task_active=torch.tensor([True, True]))
    step = StepInputs(losses=losses, rows=[0, 1], values=torch.zeros(2),
                      reg=None, epoch=None, factor=1.0, grad_scale=1.0)
    with pytest.raises(RuntimeError, match='cannot join the gradient'):
        MultiTaskOptimWrapper._with_representation(None, step)
    rep = torch.ones(3, requires_grad=True)
    with_rep = MultiTaskLosses(task_names=('a', 'b'),
                               task_losses=[zero, zero],
                               task_active=torch.tensor([True, True]),
                               shared_representation=[rep * 2])
    step.losses = with_rep
    total = MultiTaskOptimWrapper._with_representation(None, step)
    total.backward()
    assert float(total) == 0 and torch.equal(rep.grad, torch.zeros(3))
