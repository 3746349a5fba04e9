# Copyright (c) mtlpartial contributors. All rights reserved.
"""Pick the meter of a task from its spec ``kind``."""
from typing import Optional

from mtlpartial.evaluation.functional import (BaseMeter, DepthMeter,
                                              EdgeMeter, NormalMeter,
                                              SaliencyMeter, SemSegMeter)
from mtlpartial.tasks import BaseTask


def build_meter(task: BaseTask, cfg: Optional[dict] = None) -> BaseMeter:
    """The meter evaluating ``task``.

    ``'semseg'`` → :class:`SemSegMeter` (the spec's ``num_classes`` and
    ``ignore_index``), ``'depth'`` → :class:`DepthMeter`, ``'normal'`` →
    :class:`NormalMeter`, ``'binary'`` → :class:`SaliencyMeter` when the
    spec's ``primary_metric`` is ``'maxF'`` and :class:`EdgeMeter` when it
    is ``'odsF'`` (with the spec's ``ignore_index``).

    Args:
        task: a built task spec.
        cfg: extra keyword arguments of the meter (e.g.
            ``dict(clamp_pred=1e-9)`` for depth).

    Raises:
        ValueError: naming the task when its kind is unknown or ``cfg`` does
            not fit the meter.
    """
    cfg = dict(cfg or {})
    kind = task.kind
    if kind == 'semseg':
        cls, base = SemSegMeter, dict(num_classes=task.num_classes,
                                      ignore_index=task.ignore_index)
    elif kind == 'depth':
        cls, base = DepthMeter, {}
    elif kind == 'normal':
        cls, base = NormalMeter, {}
    elif kind == 'binary':
        if task.primary_metric == 'maxF':
            cls = SaliencyMeter
        elif task.primary_metric == 'odsF':
            cls = EdgeMeter
        else:
            raise ValueError(f'task "{task.name}": binary metric must be '
                             f"'maxF' or 'odsF', got {task.primary_metric!r}")
        base = dict(ignore_index=task.ignore_index)
    else:
        raise ValueError(f'task "{task.name}": no meter for task kind '
                         f'{kind!r} (expected semseg, depth, normal, binary)')
    base.update(cfg)
    try:
        meter = cls(**base)
    except TypeError as e:
        raise ValueError(f'task "{task.name}": bad meter options {cfg} for '
                         f'{cls.__name__}: {e}') from e
    if task.primary_metric not in meter.higher_is_better:
        raise ValueError(f'task "{task.name}": primary metric '
                         f'{task.primary_metric!r} is not computed by '
                         f'{cls.__name__} ({sorted(meter.higher_is_better)})')
    return meter
