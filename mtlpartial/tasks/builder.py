# Copyright (c) mtlpartial contributors. All rights reserved.
from collections import OrderedDict
from typing import Dict, Mapping, Sequence, Union

from mtlpartial.registry import TASKS
from .base_task import BaseTask

TaskCfgs = Union[Mapping[str, Union[dict, BaseTask]], Sequence[dict]]


def _as_items(cfg: TaskCfgs) -> list:
    """``[(name, spec cfg or spec)]`` from a dict or a list of dicts."""
    if isinstance(cfg, Mapping):
        return list(cfg.items())
    if isinstance(cfg, (list, tuple)):
        items = []
        for i, spec in enumerate(cfg):
            if isinstance(spec, BaseTask):
                items.append((spec.name, spec))
            elif isinstance(spec, Mapping) and 'name' in spec:
                items.append((spec['name'], spec))
            else:
                raise KeyError(f'tasks[{i}]: a task in a list needs a '
                               f'"name" key, got {spec!r}')
        names = [n for n, _ in items]
        if len(set(names)) != len(names):
            raise ValueError(f'tasks: duplicate task names {names}')
        return items
    raise ValueError('`tasks` must be a non-empty list of task cfgs with '
                     f'"name", or a dict {{name: task cfg}}, got {cfg!r}')


def build_tasks(cfg: TaskCfgs) -> 'OrderedDict[str, BaseTask]':
    """Build task specs, in order.

    Args:
        cfg: a list ``[dict(name='semseg', type='SemSegTask', ...), ...]``
            (the form used by the configs: mmengine writes dict keys of a
            dumped config in sorted order, a list keeps the task order) or
            a dict ``{name: dict(type=...)}``. The order is the task order
            everywhere (masks, heads, losses).

    Raises:
        ValueError: if ``cfg`` is empty or malformed.
        KeyError: if a task type is unknown (names the task).
    """
    items = _as_items(cfg)
    if not items:
        raise ValueError('`tasks` must not be empty')
    tasks: Dict[str, BaseTask] = OrderedDict()
    for name, spec in items:
        if isinstance(spec, BaseTask):
            task = spec
        else:
            spec = dict(spec)
            if 'type' not in spec:
                raise KeyError(f'tasks.{name}: missing "type" (e.g. '
                               "'SemSegTask', 'DepthTask', 'NormalTask', "
                               "'BinaryTask')")
            spec.setdefault('name', name)
            try:
                task = TASKS.build(spec)
            except KeyError as e:
                raise KeyError(f'tasks.{name}: {e}') from e
        if task.name != name:
            raise ValueError(f'tasks.{name}: spec name {task.name!r} does '
                             'not match its key')
        tasks[name] = task
    return tasks
