# Copyright (c) mtlpartial contributors. All rights reserved.
from collections import OrderedDict
from typing import Dict, Mapping, Union

from mtlpartial.registry import TASKS
from .base_task import BaseTask


def build_tasks(cfg: Mapping[str, Union[dict, BaseTask]]
                ) -> 'OrderedDict[str, BaseTask]':
    """Build task specs from ``{name: dict(type=..., ...)}``.

    The dict order is the task order everywhere (masks, heads, losses).

    Raises:
        ValueError: if ``cfg`` is empty or not a mapping.
        KeyError: if a task type is unknown (names the task).
    """
    if not isinstance(cfg, Mapping) or len(cfg) == 0:
        raise ValueError('`tasks` must be a non-empty dict {name: task cfg}, '
                         f'got {cfg!r}')
    tasks: Dict[str, BaseTask] = OrderedDict()
    for name, spec in cfg.items():
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
