# Copyright (c) mtlpartial contributors. All rights reserved.
"""A sampler whose batches contain labelled samples of every task."""
import itertools
import math
import warnings
from typing import Dict, Iterator, Optional, Sized, Union

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mtlpartial.registry import DATA_SAMPLERS


def find_label_mask(dataset) -> tuple:
    """``(label_mask, task_names)`` of ``dataset`` or of a wrapped dataset.

    The dataset (or the first ``.dataset`` down the chain of wrappers) must
    expose ``label_mask`` (bool ``(N, K)``) and ``task_names``.
    """
    ds, depth = dataset, 0
    while not hasattr(ds, 'label_mask') and hasattr(ds, 'dataset') \
            and depth < 10:
        ds, depth = ds.dataset, depth + 1
    if not hasattr(ds, 'label_mask') or not hasattr(ds, 'task_names'):
        raise AttributeError(
            f'TaskBalancedSampler needs a dataset with `label_mask` (bool '
            f'(N, K)) and `task_names`; {type(dataset).__name__} has none')
    mask = np.asarray(ds.label_mask).astype(bool)
    names = tuple(ds.task_names)
    if mask.ndim != 2 or mask.shape[1] != len(names):
        raise ValueError(
            f'TaskBalancedSampler: {type(ds).__name__}.label_mask has shape '
            f'{tuple(mask.shape)}, expected (N, {len(names)}) for tasks '
            f'{names}')
    return mask, names


@DATA_SAMPLERS.register_module()
class TaskBalancedSampler(Sampler):
    """Shuffle a partially labelled dataset so that every batch contains at
    least one labelled sample of every task (modelled on mmdet's
    ``MultiSourceSampler``).

    Each epoch is a permutation of the dataset (every image exactly once,
    plus, with ``round_up``, the same padding as mmengine's
    ``DefaultSampler``), cut into batches of ``batch_size`` that are handed
    to the ranks round-robin (batch ``j`` goes to rank ``j % world_size``):
    the ranks see disjoint sets of batches, and with mmengine's default
    batch sampler each block of ``batch_size`` consecutive indices of a rank
    is one of these batches. Batches are composed greedily, per epoch:

    1. a random permutation of the images (padded like ``DefaultSampler``);
    2. tasks are visited from the scarcest (fewest labelled images per
       unit of quota) to the most common; for each task, every batch that
       holds fewer than ``quota[task]`` samples labelled for it receives
       not-yet-placed images labelled for it (in permutation order), while
       it has room; batches are served in a random order, one slot per
       batch per round, so that a shortage is spread over the epoch;
    3. the remaining images fill the remaining slots in permutation order;
       the order inside each batch and the batch order are random.

    The quota is met in every batch whenever the epoch has enough labelled
    images (``#labelled(task) >= quota[task] · #batches``) and the batch has
    room (``Σ quota <= batch size``); otherwise a warning says how many
    batches miss which task. Everything is a function of ``(seed, epoch)``
    only, so all ranks agree, and a resumed run sees the same batches.

    Resuming: ``set_epoch(epoch)`` (called by mmengine's
    ``DistSamplerSeedHook`` before each epoch) selects the permutation;
    ``set_start_iter(n)`` makes the next ``__iter__`` skip the first ``n``
    batches of this rank (used by :class:`MidEpochResumeHook` when a run is
    resumed from a checkpoint saved in the middle of an epoch, which
    mmengine's ``EpochBasedTrainLoop`` would otherwise replay from the
    epoch's start). ``IterBasedTrainLoop`` skips ``runner.iter`` batches by
    iterating the dataloader itself, which gives the same batches because
    the sampler is deterministic.

    Args:
        dataset (Sized): the dataset; it (or a wrapped ``.dataset``) exposes
            ``label_mask`` (bool ``(N, K)``) and ``task_names``.
        batch_size (int): the per-rank batch size of the dataloader (must be
            equal to it).
        shuffle (bool): shuffle images (and batches). With False the
            composition is deterministic in index order. Defaults to True.
        seed (int, optional): same on all ranks; ``sync_random_seed()`` if
            None (the Runner passes its seed).
        quota (int | dict[str, int], optional): minimum number of samples
            labelled for each task in a batch (an int applies to all tasks;
            tasks missing from a dict get 0). Defaults to 1 for every task
            when ``batch_size >= K``; with ``batch_size < K`` the default is
            no quota (a plain shuffle) because no batch can hold all tasks.
        round_up (bool): pad with repeated images so that every rank gets
            ``ceil(N / world_size)`` samples (like ``DefaultSampler``).
            Defaults to True.
        infinite (bool): yield epoch after epoch forever (for
            ``IterBasedTrainLoop``, like ``InfiniteSampler``). Defaults to
            False.
    """

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 quota: Union[None, int, Dict[str, int]] = None,
                 round_up: bool = True,
                 infinite: bool = False) -> None:
        rank, world_size = get_dist_info()
        self.rank = rank
        self.world_size = world_size
        self.dataset = dataset
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) \
                or batch_size < 1:
            raise ValueError('TaskBalancedSampler: batch_size must be a '
                             f'positive int, got {batch_size!r}')
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.round_up = round_up
        self.infinite = infinite
        self.epoch = 0
        self._start_iter = 0

        mask, names = find_label_mask(dataset)
        if len(mask) != len(dataset):
            raise ValueError(
                f'TaskBalancedSampler: label_mask has {len(mask)} rows but '
                f'the dataset has {len(dataset)} samples (dataset wrappers '
                'that repeat or concatenate samples are not supported)')
        self.label_mask = mask
        self.task_names = names
        self.quota = self._parse_quota(quota)

        n = len(mask)
        w, b = world_size, batch_size
        self.total_size = math.ceil(n / w) * w if round_up else n
        self.num_full_batches = (self.total_size // (b * w)) * w
        rest = self.total_size - self.num_full_batches * b
        tail = [rest // w + (r < rest % w) for r in range(w)]
        # capacity of every global batch; batch j belongs to rank j % w
        self.capacity = np.array([b] * self.num_full_batches + tail,
                                 dtype=np.int64)
        self.num_samples = int(self.capacity[rank::w].sum())
        self._warned = set()

    def _parse_quota(self, quota) -> np.ndarray:
        num_tasks = len(self.task_names)
        if quota is None:
            if self.batch_size < num_tasks:
                warnings.warn(
                    f'TaskBalancedSampler: batch_size {self.batch_size} < '
                    f'{num_tasks} tasks, no batch can hold every task; '
                    'sampling without a quota (plain shuffle)')
                return np.zeros(num_tasks, dtype=np.int64)
            return np.ones(num_tasks, dtype=np.int64)
        if isinstance(quota, int) and not isinstance(quota, bool):
            q = np.full(num_tasks, quota, dtype=np.int64)
        elif isinstance(quota, dict):
            unknown = [t for t in quota if t not in self.task_names]
            if unknown:
                raise ValueError(f'TaskBalancedSampler: quota names unknown '
                                 f'tasks {unknown}; dataset tasks: '
                                 f'{self.task_names}')
            q = np.array([quota.get(t, 0) for t in self.task_names],
                         dtype=np.int64)
        else:
            raise TypeError('TaskBalancedSampler: quota must be None, an int '
                            f'or a dict {{task: int}}, got {quota!r}')
        if (q < 0).any():
            raise ValueError(f'TaskBalancedSampler: negative quota {quota}')
        if q.sum() > self.batch_size:
            named = dict(zip(self.task_names, q.tolist()))
            raise ValueError(
                f'TaskBalancedSampler: the quotas {named} need '
                f'{int(q.sum())} samples per batch but batch_size is '
                f'{self.batch_size}')
        return q

    # ------------------------------------------------------------------
    def epoch_batches(self, epoch: int) -> list:
        """All global batches of ``epoch`` (list of int64 index arrays)."""
        n = len(self.label_mask)
        cap = self.capacity
        num_batches = len(cap)
        rng = np.random.default_rng([self.seed % (1 << 63), int(epoch)])
        perm = rng.permutation(n) if self.shuffle else np.arange(n)
        items = np.resize(perm, self.total_size)  # pads like DefaultSampler
        lab = self.label_mask[items]
        batch_of = np.full(len(items), -1, dtype=np.int64)
        fill = np.zeros(num_batches, dtype=np.int64)
        cover = np.zeros((num_batches, len(self.task_names)), dtype=np.int64)
        batch_order = rng.permutation(num_batches) if self.shuffle else \
            np.arange(num_batches)

        active = np.flatnonzero(self.quota > 0)
        scarcity = lab[:, active].sum(0) / self.quota[active]
        short = {}
        for k in active[np.argsort(scarcity, kind='stable')]:
            need = np.minimum(
                np.maximum(self.quota[k] - cover[:, k], 0), cap - fill)
            if not need.any():
                continue
            # round-major slots: one per needing batch per round
            slots = np.concatenate([
                batch_order[need[batch_order] > j]
                for j in range(int(need.max()))
            ])
            cand = np.flatnonzero(lab[:, k] & (batch_of < 0))
            m = min(len(cand), len(slots))
            chosen, to = cand[:m], slots[:m]
            batch_of[chosen] = to
            np.add.at(fill, to, 1)
            np.add.at(cover, to, lab[chosen].astype(np.int64))
            if m < len(slots):
                short[self.task_names[k]] = len(np.unique(slots[m:]))
        rest = np.flatnonzero(batch_of < 0)
        batch_of[rest] = np.repeat(np.arange(num_batches), cap - fill)
        if short and epoch not in self._warned:
            self._warned.add(epoch)
            warnings.warn(
                f'TaskBalancedSampler (epoch {epoch}): not enough labelled '
                f'images to meet the quota in every batch; batches short of '
                f'a task: {short} of {num_batches}')
        within = rng.random(len(items)) if self.shuffle else \
            np.arange(len(items), dtype=np.float64)
        order = np.lexsort((within, batch_of))
        bounds = np.cumsum(cap)[:-1]
        return np.split(items[order], bounds)

    def rank_batches(self, epoch: int) -> list:
        """The batches of this rank in ``epoch`` (global ``rank::world``)."""
        return self.epoch_batches(epoch)[self.rank::self.world_size]

    def _epoch_indices(self, epoch: int, start_iter: int) -> list:
        batches = self.rank_batches(epoch)[start_iter:]
        if not batches:
            return []
        return np.concatenate(batches).tolist()

    def __iter__(self) -> Iterator[int]:
        start, self._start_iter = self._start_iter, 0
        if not self.infinite:
            return iter(self._epoch_indices(self.epoch, start))
        return self._infinite(start)

    def _infinite(self, start: int) -> Iterator[int]:
        for epoch in itertools.count(self.epoch):
            yield from self._epoch_indices(epoch, start)
            start = 0

    def __len__(self) -> int:
        """Number of indices of this rank per (full) epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of ``epoch`` (keeps a pending start)."""
        self.epoch = int(epoch)

    def set_start_iter(self, num_batches: int) -> None:
        """Skip the first ``num_batches`` batches of this rank on the next
        ``__iter__`` only (mid-epoch resume)."""
        if num_batches < 0:
            raise ValueError(f'start iter must be >= 0, got {num_batches}')
        self._start_iter = int(num_batches)

    def state_dict(self) -> dict:
        return dict(
            seed=self.seed, epoch=self.epoch, start_iter=self._start_iter)

    def load_state_dict(self, state: dict) -> None:
        if int(state['seed']) != self.seed:
            raise ValueError(
                f'TaskBalancedSampler: state has seed {state["seed"]}, this '
                f'sampler {self.seed}; the batches would differ')
        self.epoch = int(state['epoch'])
        self._start_iter = int(state.get('start_iter', 0))
