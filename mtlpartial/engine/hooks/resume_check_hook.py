# Copyright (c) mtlpartial contributors. All rights reserved.
"""Make a resumed run follow its current config, and say what changed.

mmengine's ``Runner.resume`` restores the optimizer's parameter groups (lr,
weight decay, ...) and the *whole* state of every parameter scheduler
(``begin``, ``end``, ``T_max``, ...) from the checkpoint. Settings changed
for the resumed run are then ignored without a word: ``--cfg-options
optim_wrapper.optimizer.lr=...`` has no effect, and a scheduler whose
``end`` defaulted to ``max_epochs`` keeps the old ``max_epochs``, so
resuming with a larger ``max_epochs`` freezes the learning rate.

:class:`ResumeCheckHook` re-derives both from the current config before
mmengine loads them: the runner has already built the optimizer and the
schedulers from the config; the hook steps the schedulers as many times as
the interrupted run did (iteration and epoch steps interleaved as
``ParamSchedulerHook`` does) and writes the resulting parameter-group
values and scheduler states into the loaded checkpoint dict. mmengine then
restores those, together with the checkpoint's optimizer moments and
counters. Each epoch's learning rate of the resumed run therefore equals
that of an uninterrupted run of the current config; with an unchanged
config the values are those of the checkpoint (same floating-point steps).
Every difference from the checkpoint is logged as a warning.

Schedulers that need validation metrics (``ReduceOnPlateau*``) cannot be
replayed; with those, a resume whose config changes an optimizer setting or
a scheduler argument stops with a message instead.

On resume the hook also removes the temporary files that a killed
checkpoint save left in the work dir, and warns when ``resume=True`` found
nothing to resume.
"""
import warnings
from typing import List

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mtlpartial.registry import HOOKS
from mtlpartial.utils.atomic_io import remove_stale_temp_files

#: scheduler state entries that record progress, not configuration
PROGRESS_KEYS = ('last_step', '_global_step', '_last_value', 'base_values',
                 '_get_value_called_within_step', 'verbose', 'best',
                 'num_bad_epochs', 'cooldown_counter', 'rule_worse')


def _fmt(value) -> str:
    if isinstance(value, float):
        return f'{value:.6g}'
    if isinstance(value, (list, tuple)):
        return '(' + ', '.join(_fmt(v) for v in value) + ')'
    return repr(value)


def _differs(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)):
        return abs(a - b) > 1e-12 * max(abs(a), abs(b), 1e-30)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) != len(b) or any(_differs(x, y) for x, y in zip(a, b))
    return a != b


def _group_changes(old_groups: List[dict], new_groups: List[dict],
                   keys=None) -> List[str]:
    changes = []
    for i, (old, new) in enumerate(zip(old_groups, new_groups)):
        for key in keys or new:
            if key != 'params' and key in old and key in new and \
                    _differs(old[key], new[key]):
                changes.append(f'param group {i} {key}: {_fmt(old[key])} '
                               f'-> {_fmt(new[key])}')
    return changes


def _scheduler_changes(old_states, schedulers) -> List[str]:
    if not isinstance(old_states, list):
        return []
    changes = []
    if len(old_states) != len(schedulers):
        changes.append(f'param_scheduler: {len(old_states)} scheduler(s) in '
                       f'the checkpoint, {len(schedulers)} in the config')
    for i, (old, sched) in enumerate(zip(old_states, schedulers)):
        new = sched.state_dict()
        for key, value in new.items():
            if key not in PROGRESS_KEYS and key in old and \
                    _differs(old[key], value):
                changes.append(f'param_scheduler[{i}] '
                               f'({type(sched).__name__}) {key}: '
                               f'{_fmt(old[key])} -> {_fmt(value)}')
    return changes


def is_resuming(runner) -> bool:
    """Whether ``runner`` is resuming a training run (``resume=True`` and a
    built train loop; a test run that loads a checkpoint is not)."""
    from mmengine.runner import BaseLoop  # slow import, only when used
    return bool(getattr(runner, '_resume', False)) and isinstance(
        getattr(runner, '_train_loop', None), BaseLoop)


def replay_schedules(schedulers: list, iters: int, epochs: int,
                     epoch_length: int) -> None:
    """Step freshly built schedulers as a run of ``iters`` iterations and
    ``epochs`` epochs did (``epoch_length`` 0: an iteration-based loop,
    whose epoch schedulers never step)."""
    per_iter = [s for s in schedulers if not s.by_epoch]
    per_epoch = [s for s in schedulers if s.by_epoch]
    done = 0
    with warnings.catch_warnings():  # no optimizer.step() during a replay
        warnings.simplefilter('ignore', UserWarning)
        for i in range(iters):
            for sched in per_iter:
                sched.step()
            if epoch_length and (i + 1) % epoch_length == 0 and \
                    done < epochs:
                for sched in per_epoch:
                    sched.step()
                done += 1
        while epoch_length and done < epochs:  # epoch length changed
            for sched in per_epoch:
                sched.step()
            done += 1


@HOOKS.register_module()
class ResumeCheckHook(Hook):
    """On resume, optimizer settings and schedules follow the config.

    See the module docstring. In ``configs/_base_/default_runtime.py`` it is
    a default hook (``default_hooks.resume_check``), so it stays when a
    config replaces ``custom_hooks``.
    """
    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not is_resuming(runner) or 'optimizer' not in checkpoint:
            return
        state = checkpoint['optimizer']
        schedulers = runner.param_schedulers or []
        if not (isinstance(state, dict) and 'param_groups' in state) or \
                isinstance(schedulers, dict):
            runner.logger.warning(
                'ResumeCheckHook: several optimizers; their settings and '
                'schedules are restored from the checkpoint as saved, '
                'without comparing them with the config')
            return
        # the optimizer's own groups: mmengine's ``OptimWrapper.param_groups``
        # appends ``base_param_settings`` (the base lr it logs) when there
        # are several groups, which the optimizer state does not hold
        groups = runner.optim_wrapper.optimizer.param_groups
        if len(groups) != len(state['param_groups']):
            return  # torch's load_state_dict reports the mismatch
        meta = checkpoint.get('meta', {})
        where = (f'resume at epoch {meta.get("epoch", "?")}, iteration '
                 f'{meta.get("iter", "?")}')
        if any(getattr(s, 'need_val_args', False) for s in schedulers):
            self._refuse_if_changed(runner, state, schedulers,
                                    checkpoint.get('param_schedulers'), where)
            return
        loop = runner.train_loop
        from mmengine.runner import EpochBasedTrainLoop
        epoch_length = len(loop.dataloader) if isinstance(
            loop, EpochBasedTrainLoop) else 0
        replay_schedules(schedulers, int(meta.get('iter', 0)),
                         int(meta.get('epoch', 0)), epoch_length)
        new_groups = [{k: v for k, v in g.items() if k != 'params'}
                      for g in groups]
        changes = _scheduler_changes(checkpoint.get('param_schedulers'),
                                     schedulers)
        changes += _group_changes(state['param_groups'], new_groups)
        for old, new in zip(state['param_groups'], new_groups):
            old.update(new)
        checkpoint['param_schedulers'] = [s.state_dict() for s in schedulers]
        if changes:
            runner.logger.warning(
                f'{where}: the optimizer settings and parameter schedules '
                'follow the current config, as if the run had used it from '
                'the start (the checkpoint holds other values): '
                + '; '.join(changes))
        else:
            runner.logger.info(f'{where}: optimizer settings and schedules '
                               'of the checkpoint match the config')

    @staticmethod
    def _refuse_if_changed(runner, state: dict, schedulers: list,
                           old_states, where: str) -> None:
        groups = runner.optim_wrapper.optimizer.param_groups
        scheduled = {s.param_name for s in schedulers}
        keys = [k for k in groups[0]
                if k != 'params' and k not in scheduled]
        changes = _group_changes(state['param_groups'], groups, keys)
        changes += _scheduler_changes(old_states, schedulers)
        if changes:
            names = sorted({type(s).__name__ for s in schedulers
                            if getattr(s, 'need_val_args', False)})
            raise RuntimeError(
                f'{where}: the config changes ' + '; '.join(changes) +
                f', but the schedule of {names} depends on validation '
                'metrics and cannot be re-derived, so the checkpoint\'s '
                'values would silently replace the config\'s. Resume with '
                'the settings of the checkpoint, or start a new run from its'
                ' weights (load_from=<checkpoint>, without --resume)')

    def before_train(self, runner) -> None:
        if not getattr(runner, '_resume', False):
            return
        if not getattr(runner, '_has_loaded', True):
            runner.logger.warning(
                f'resume=True but there is no checkpoint to resume in '
                f'{runner.work_dir} (no last_checkpoint file); training '
                'starts from scratch')
        if is_main_process():
            removed = remove_stale_temp_files(runner.work_dir,
                                              other_hosts=True)
            if removed:
                runner.logger.warning(
                    f'removed {len(removed)} temporary file(s) of an '
                    f'interrupted checkpoint save: {removed}')

