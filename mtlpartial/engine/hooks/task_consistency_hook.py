# Copyright (c) mtlpartial contributors. All rights reserved.
"""Check that the model, the datasets and the metrics have the same tasks.

Nothing else compares them: a model task that the training set lacks gets
no labelled sample and trains with a zero loss forever; a dataset task the
model lacks, or a renamed one, fails only in the first validation, epochs
later. The check runs in ``before_run``: when ``runner.train()``,
``val()`` or ``test()`` starts, after the loops and their datasets are
built and before any weight is loaded or any iteration runs.
"""
from typing import List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mtlpartial.registry import HOOKS


def _dataset_tasks(dataset) -> Optional[Sequence[str]]:
    meta = getattr(dataset, 'metainfo', None) or {}
    return meta.get('tasks')


def _spec_problems(where: str, model_specs: dict, meta: dict) -> List[str]:
    """Kind and class-count mismatches of tasks present on both sides."""
    problems = []
    kinds = meta.get('task_kinds') or {}
    classes = meta.get('classes') or {}
    for name, spec in model_specs.items():
        kind = kinds.get(name)
        if kind is not None and kind != spec.kind:
            problems.append(f'task "{name}" is a {kind} task in {where} but '
                            f'a {spec.kind} task ({type(spec).__name__}) in '
                            'model.tasks')
        num = getattr(spec, 'num_classes', None)
        if name in classes and num is not None and \
                len(classes[name]) != num:
            problems.append(f'task "{name}" has {len(classes[name])} classes '
                            f'in {where} but num_classes={num} in '
                            'model.tasks')
    return problems


def task_problems(model_tasks: Sequence[str], model_specs: dict,
                  where: str, tasks: Sequence[str],
                  meta: Optional[dict] = None) -> List[str]:
    """What differs between the model's tasks and those of ``where``."""
    missing = [t for t in model_tasks if t not in tasks]
    extra = [t for t in tasks if t not in model_tasks]
    problems = []
    if missing:
        problems.append(
            f'{where} has no task(s) {missing} of model.tasks '
            f'{list(model_tasks)}' +
            (' (no ground truth: their loss would be 0 forever)'
             if where.startswith('train') else ''))
    if extra:
        problems.append(f'{where} has task(s) {extra} that model.tasks '
                        f'{list(model_tasks)} lacks')
    if meta is not None:
        shared = {t: s for t, s in model_specs.items() if t in tasks}
        problems += _spec_problems(where, shared, meta)
    return problems


@HOOKS.register_module()
class TaskConsistencyHook(Hook):
    """Stop before the run if model, datasets and metrics disagree on tasks.

    Compares ``model.task_names`` with the ``tasks`` metainfo of the
    datasets of every built loop (train, val, test) and with the ``tasks``
    of their metrics (e.g. ``MultiTaskMetric``): the same task names (in
    any order), the same kind of task and, for segmentation, the same
    number of classes. In ``configs/_base_/default_runtime.py`` it is a
    default hook (``default_hooks.task_check``).
    """
    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        from mmengine.runner import BaseLoop  # slow import, only when used
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        names = getattr(model, 'task_names', None)
        if not names:
            return
        specs = dict(getattr(model, 'tasks', {}) or {})
        problems = []
        for split in ('train', 'val', 'test'):
            loop = getattr(runner, f'_{split}_loop', None)
            if not isinstance(loop, BaseLoop):
                continue  # not built: this run does not use it
            dataset = loop.dataloader.dataset
            tasks = _dataset_tasks(dataset)
            if tasks is not None:
                problems += task_problems(
                    names, specs, f'{split}_dataloader.dataset', tasks,
                    dataset.metainfo)
            evaluator = getattr(loop, 'evaluator', None)
            for i, metric in enumerate(getattr(evaluator, 'metrics', ())):
                metric_tasks = getattr(metric, 'tasks', None)
                if metric_tasks is not None:
                    problems += task_problems(
                        names, specs, f'{split}_evaluator '
                        f'({type(metric).__name__})', list(metric_tasks))
        if problems:
            raise ValueError('the tasks of the model, the data and the '
                             'metrics differ:\n  - ' +
                             '\n  - '.join(problems))
