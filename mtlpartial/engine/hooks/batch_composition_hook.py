# Copyright (c) mtlpartial contributors. All rights reserved.
"""Log how often a training batch has no labelled sample of a task."""
from typing import Dict, Optional, Sequence

from mmengine.hooks import Hook

from mtlpartial.registry import HOOKS


@HOOKS.register_module()
class BatchCompositionHook(Hook):
    """Monitor the share of training batches without labels for a task.

    With partial labels a batch may hold no labelled sample of some task;
    that task then gets no gradient in that step (its loss is a zero tensor
    without graph). After every train iteration the hook reads the
    ``labelled_tasks`` metainfo of the batch's ``MultiTaskDataSample``s (no
    tensor is touched, nothing is synchronised); every ``interval``
    iterations it logs, per task, the share of batches without a labelled
    sample since the last log and since the start of training (of this
    process), and puts the recent share into the message hub as
    ``train/missing_<task>`` (shown by the ``LogProcessor``; its default
    ``mean`` smoothing averages over the hook's last logged values). Under
    DDP each rank counts its own local batches; the log shows rank 0's.

    With :class:`TaskBalancedSampler` and ``batch_size >= K`` every share
    should be 0.

    Args:
        interval (int): log every ``interval`` train iterations.
            Defaults to 50.
    """
    priority = 'BELOW_NORMAL'

    def __init__(self, interval: int = 50) -> None:
        if isinstance(interval, bool) or not isinstance(interval, int) \
                or interval < 1:
            raise ValueError('BatchCompositionHook: interval must be a '
                             f'positive int, got {interval!r}')
        self.interval = interval
        self.task_names: Optional[tuple] = None
        self.reset()

    def reset(self) -> None:
        """Clear all counters."""
        self.recent_batches = 0
        self.total_batches = 0
        names = self.task_names or ()
        self.recent_missing: Dict[str, int] = dict.fromkeys(names, 0)
        self.total_missing: Dict[str, int] = dict.fromkeys(names, 0)

    def before_train(self, runner) -> None:
        self.reset()

    def _count(self, samples: Sequence) -> None:
        if not samples:
            return
        if self.task_names is None:
            self.task_names = tuple(samples[0].metainfo.get('tasks', ()))
            if not self.task_names:
                raise KeyError('BatchCompositionHook: the data samples have '
                               'no "tasks" metainfo')
            self.recent_missing = dict.fromkeys(self.task_names, 0)
            self.total_missing = dict.fromkeys(self.task_names, 0)
        covered = set().union(*(s.metainfo.get('labelled_tasks', ())
                                for s in samples))
        self.recent_batches += 1
        self.total_batches += 1
        for task in self.task_names:
            if task not in covered:
                self.recent_missing[task] += 1
                self.total_missing[task] += 1

    def shares(self) -> tuple:
        """``(recent, cumulative)`` dicts ``{task: share of batches}``."""
        recent = {
            t: n / max(self.recent_batches, 1)
            for t, n in self.recent_missing.items()
        }
        total = {
            t: n / max(self.total_batches, 1)
            for t, n in self.total_missing.items()
        }
        return recent, total

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if isinstance(data_batch, dict):
            self._count(list(data_batch.get('data_samples') or ()))
        if not self.every_n_train_iters(runner, self.interval) or \
                self.task_names is None:
            return
        recent, total = self.shares()
        for task in self.task_names:
            runner.message_hub.update_scalar(f'train/missing_{task}',
                                             recent[task])
        text = ', '.join(f'{t} {recent[t]:.1%} (all {total[t]:.1%})'
                         for t in self.task_names)
        runner.logger.info(
            f'batches without a labelled sample over the last '
            f'{self.recent_batches} iterations (cumulative over '
            f'{self.total_batches}): {text}')
        self.recent_batches = 0
        self.recent_missing = dict.fromkeys(self.task_names, 0)
