# Copyright (c) mtlpartial contributors. All rights reserved.
import logging
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

from mmengine.config import ConfigDict
from mmengine.logging import print_log

from mtlpartial.registry import TASKS
from .base_task import BaseTask

TaskCfgs = Union[Mapping[str, Union[dict, BaseTask]], Sequence[dict]]

#: task orders already warned about (one warning per order and process)
_WARNED_DICT_ORDERS: Set[Tuple[str, ...]] = set()


def warn_dict_order(names: Sequence[str]) -> None:
    """Warn that a dict of tasks changes order when its config is dumped.

    mmengine writes the keys of a dict sorted when it dumps a config (the
    ``work_dir/<config>.py`` copy), so a run rebuilt from the dump would
    order these tasks differently: other label-mask columns, another
    generated mask, other head and pair orders. Only an unsorted dict of two
    or more tasks is affected; a list keeps its order.
    """
    names = tuple(names)
    if list(names) == sorted(names) or names in _WARNED_DICT_ORDERS:
        return
    _WARNED_DICT_ORDERS.add(names)
    listed = ', '.join(f"dict(name='{n}', type=...)" for n in names)
    print_log(
        f'tasks are given as a dict in the order {list(names)}; this run '
        'uses that order, but mmengine writes dict keys sorted when it '
        'dumps the config to the work dir, so a run rebuilt from the dumped '
        f'config would order the tasks {sorted(names)} (other label-mask '
        'columns, another generated mask). Write tasks as a list to keep '
        f'the order: tasks = [{listed}]',
        logger='current',
        level=logging.WARNING)


def _as_items(cfg: TaskCfgs) -> list:
    """``[(name, spec cfg or spec)]`` from a dict or a list of dicts."""
    if isinstance(cfg, Mapping):
        warn_dict_order(list(cfg))
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
            a dict ``{name: dict(type=...)}`` (accepted; a dict whose keys
            are not sorted gets a warning, see :func:`warn_dict_order`).
            The order is the task order everywhere (masks, heads, losses).

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


def task_cfg_list(cfg: TaskCfgs) -> Optional[List[dict]]:
    """Plain-dict copies of task configs, in order (for a metainfo).

    A dataset publishes them in its metainfo (``task_cfgs``) so that the
    evaluator's ``MultiTaskMetric`` builds the same task specs without
    being given them again. Plain dicts only (no built objects): the
    metainfo is stored in checkpoints, which are loaded with
    ``weights_only=True``.

    Args:
        cfg: as :func:`build_tasks`.

    Returns:
        ``[dict(name=..., type=..., ...)]``, or None when a task is given as
        a built spec (its configuration is not known).
    """
    out = []
    for name, spec in _as_items(cfg):
        if isinstance(spec, BaseTask):
            return None
        out.append(ConfigDict(dict(spec, name=name)).to_dict())
    return out
