# Copyright (c) mtlpartial contributors. All rights reserved.
import math

import numpy as np
import pytest
import torch
from mmengine.dataset import DefaultSampler
from torch.utils.data import BatchSampler

from mtlpartial.datasets.partial_labels import (OneLabel, RandomLabels,
                                                Ratio, load_mask)
from mtlpartial.datasets.samplers import TaskBalancedSampler
from mtlpartial.datasets.samplers import task_balanced_sampler as tbs_module
from mtlpartial.registry import DATA_SAMPLERS
from .fake_datasets import MaskOnlyDataset, official


@pytest.fixture(scope='module')
def nyu_onelabel():
    rec = load_mask(official('nyuv2_onelabel.pth'))
    return MaskOnlyDataset(rec.mask, rec.task_names)


def make_sampler(dataset, batch_size, rank=0, world_size=1, monkeypatch=None,
                 **kwargs):
    monkeypatch.setattr(tbs_module, 'get_dist_info',
                        lambda: (rank, world_size))
    return TaskBalancedSampler(dataset, batch_size, **kwargs)


def batches_of(sampler, batch_size, drop_last=False):
    return [list(b) for b in BatchSampler(sampler, batch_size, drop_last)]


@pytest.mark.parametrize('batch_size', [3, 4, 8, 16])
def test_every_batch_has_every_task_nyu(nyu_onelabel, batch_size,
                                        monkeypatch):
    mask = nyu_onelabel.label_mask
    s = make_sampler(nyu_onelabel, batch_size, seed=0,
                     monkeypatch=monkeypatch)
    for epoch in range(3):
        s.set_epoch(epoch)
        idx = list(s)
        assert sorted(idx) == list(range(795))  # a permutation
        for b in batches_of(s, batch_size):
            if len(b) >= 3:
                assert mask[b].any(0).all(), (epoch, b)


def test_plain_shuffle_would_miss_tasks(nyu_onelabel):
    """The check above is not vacuous: DefaultSampler batches of 3 miss
    tasks."""
    s = DefaultSampler(nyu_onelabel, seed=0)
    missing = sum(not nyu_onelabel.label_mask[b].any(0).all()
                  for b in batches_of(s, 3))
    assert missing > 100


def test_deterministic_and_epoch_dependent(nyu_onelabel, monkeypatch):
    a = make_sampler(nyu_onelabel, 4, seed=3, monkeypatch=monkeypatch)
    b = make_sampler(nyu_onelabel, 4, seed=3, monkeypatch=monkeypatch)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    a.set_epoch(0)
    assert list(a) == first
    c = make_sampler(nyu_onelabel, 4, seed=4, monkeypatch=monkeypatch)
    assert list(c) != first


def test_two_ranks_disjoint_shards(nyu_onelabel, monkeypatch):
    bs = 4
    samplers = [
        make_sampler(nyu_onelabel, bs, rank=r, world_size=2, seed=0,
                     monkeypatch=monkeypatch) for r in range(2)
    ]
    for epoch in (0, 1):
        shards = []
        for s in samplers:
            s.set_epoch(epoch)
            shards.append(list(s))
        # DefaultSampler(round_up=True) sizes: ceil(795 / 2) = 398 each
        assert [len(x) for x in shards] == [398, 398]
        assert [len(s) for s in samplers] == [398, 398]
        union = shards[0] + shards[1]
        assert sorted(set(union)) == list(range(795))
        assert len(union) - len(set(union)) == 1  # the single pad
        # whole batches go round-robin: same as slicing the global batches
        glob = samplers[0].epoch_batches(epoch)
        assert shards[0] == np.concatenate(glob[0::2]).tolist()
        assert shards[1] == np.concatenate(glob[1::2]).tolist()
        for shard in shards:
            tail = len(shard) % bs  # the last, partial batch (2 < K)
            assert tail == 2
            for b in batches_of(shard[:-tail], bs):
                assert nyu_onelabel.label_mask[b].any(0).all()


@pytest.mark.parametrize('world_size,round_up', [(3, True), (3, False),
                                                 (4, True), (1, False)])
def test_lengths_match_default_sampler(world_size, round_up, monkeypatch):
    ds = MaskOnlyDataset(OneLabel(0).make_mask(('a', 'b', 'c'), 101))
    import mmengine.dataset.sampler as mm_sampler
    monkeypatch.setattr(mm_sampler, 'get_dist_info', lambda: (0, 1))
    idx = []
    for r in range(world_size):
        s = make_sampler(ds, 8, rank=r, world_size=world_size, seed=1,
                         round_up=round_up, monkeypatch=monkeypatch)
        monkeypatch.setattr(mm_sampler, 'get_dist_info',
                            lambda r=r: (r, world_size))
        ref = DefaultSampler(ds, seed=1, round_up=round_up)
        assert len(s) == len(ref) == len(list(s))
        idx += list(s)
    total = math.ceil(101 / world_size) * world_size if round_up else 101
    assert len(idx) == total and set(idx) == set(range(101))


def test_resume_mid_epoch(nyu_onelabel, monkeypatch):
    s = make_sampler(nyu_onelabel, 8, seed=0, monkeypatch=monkeypatch)
    s.set_epoch(2)
    full = batches_of(s, 8)
    resumed = make_sampler(nyu_onelabel, 8, seed=0, monkeypatch=monkeypatch)
    resumed.set_start_iter(37)
    resumed.set_epoch(2)  # the seed hook runs after the resume hook
    assert batches_of(resumed, 8) == full[37:]
    # the skip applies to one pass only
    assert batches_of(resumed, 8) == full
    state = s.state_dict()
    other = make_sampler(nyu_onelabel, 8, seed=0, monkeypatch=monkeypatch)
    other.load_state_dict(state)
    assert list(other) == list(s)
    with pytest.raises(ValueError, match='seed'):
        make_sampler(nyu_onelabel, 8, seed=1,
                     monkeypatch=monkeypatch).load_state_dict(state)


def test_infinite_mode(nyu_onelabel, monkeypatch):
    s = make_sampler(nyu_onelabel, 8, seed=0, infinite=True,
                     monkeypatch=monkeypatch)
    it = iter(s)
    stream = [next(it) for _ in range(795 * 2 + 16)]
    ref = make_sampler(nyu_onelabel, 8, seed=0, monkeypatch=monkeypatch)
    expect = []
    for e in range(3):
        ref.set_epoch(e)
        expect += list(ref)
    assert stream == expect[:len(stream)]
    s.set_start_iter(5)
    it = iter(s)
    assert [next(it) for _ in range(16)] == expect[40:56]


def test_random_labels_and_quota(monkeypatch):
    tasks = ('a', 'b', 'c', 'd', 'e')
    ds = MaskOnlyDataset(RandomLabels(0).make_mask(tasks, 500), tasks)
    s = make_sampler(ds, 10, seed=0, monkeypatch=monkeypatch,
                     quota=dict(a=2, c=3))
    for b in batches_of(s, 10):
        counts = ds.label_mask[b].sum(0)
        assert counts[0] >= 2 and counts[2] >= 3
    assert sorted(s) == list(range(500))
    s = make_sampler(ds, 10, seed=0, monkeypatch=monkeypatch, quota=2)
    for b in batches_of(s, 10):
        assert (ds.label_mask[b].sum(0) >= 2).all()


def test_scarce_task_warns_and_spreads(monkeypatch):
    tasks = ('semseg', 'depth')
    mask = Ratio(dict(semseg=0.9, depth=0.1)).make_mask(tasks, 400)
    ds = MaskOnlyDataset(mask, tasks)  # 40 depth images for 50 batches
    s = make_sampler(ds, 8, seed=0, monkeypatch=monkeypatch)
    with pytest.warns(UserWarning, match=r"short of a task: \{'depth': 10"):
        idx = list(s)
    has = [mask[b, 1].any() for b in batches_of(idx, 8)]
    assert sum(has) == 40
    # the batches without depth are not all at the end of the epoch
    assert not all(has[:40])


def test_small_batches_and_errors(monkeypatch):
    ds = MaskOnlyDataset(OneLabel(0).make_mask(('a', 'b', 'c'), 30))
    with pytest.warns(UserWarning, match='no batch can hold every task'):
        s = make_sampler(ds, 2, seed=0, monkeypatch=monkeypatch)
    assert sorted(s) == list(range(30))
    with pytest.raises(ValueError, match='need 4 samples per batch'):
        make_sampler(ds, 3, quota=dict(t0=2, t1=2), monkeypatch=monkeypatch)
    with pytest.raises(ValueError, match=r"unknown tasks \['x'\]"):
        make_sampler(ds, 3, quota=dict(x=1), monkeypatch=monkeypatch)
    with pytest.raises(AttributeError, match='label_mask'):
        make_sampler(list(range(5)), 3, monkeypatch=monkeypatch)
    s = make_sampler(ds, 3, shuffle=False, seed=0, monkeypatch=monkeypatch)
    assert list(s) == list(s) and sorted(s) == list(range(30))


def test_built_from_registry_with_runner_args():
    ds = MaskOnlyDataset(OneLabel(0).make_mask(('a', 'b'), 10))
    s = DATA_SAMPLERS.build(
        dict(type='mtlpartial.TaskBalancedSampler', batch_size=2),
        default_args=dict(dataset=ds, seed=5))
    assert isinstance(s, TaskBalancedSampler) and s.seed == 5
    loader = torch.utils.data.DataLoader(ds, batch_size=2, sampler=s)
    for batch in loader:
        assert ds.label_mask[batch['idx'].numpy()].any(0).all()
