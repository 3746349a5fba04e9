# Copyright (c) mtlpartial contributors. All rights reserved.
"""The evaluator metric of all tasks of a multi-task model."""
import logging
import math
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from prettytable import PrettyTable
from torch import Tensor

from mtlpartial.evaluation.functional import (BaseMeter, SemSegMeter,
                                              delta_percent)
from mtlpartial.registry import METRICS
from mtlpartial.tasks import build_tasks
from .compact_stats import pack_stats, unpack_stats
from .meter_builder import build_meter


@METRICS.register_module()
class MultiTaskMetric(BaseMetric):
    """Accumulated metrics of every task, plus Δ% against a baseline.

    The meter of each task follows its spec ``kind`` (see
    :func:`build_meter`): semseg → mIoU / pixel_acc / mAcc; depth → abs_err,
    abs_rel, rmse, log_rmse, delta1-3; normal → mean, median, rmse, 11.25,
    22.5, 30; binary → maxF / IoU / maxIoU (saliency) or odsF / oisF
    (edges). Every metric is accumulated over the whole evaluation set
    (confusion matrices, pixel-pooled sums), never averaged per batch.

    ``process`` reduces each sample to sufficient statistics and appends
    **one entry per sample** to ``self.results`` (an empty dict for a sample
    without labelled tasks). mmengine gathers the entries of all ranks and
    keeps the first ``len(dataset)`` of them, which drops the samples that
    the distributed sampler repeats as padding; per-batch entries could not
    be de-duplicated. Long, sparse statistics (the median histogram of
    normals) are stored sparsely.

    Tasks without ground truth in a sample (``gt_<task>`` absent: not
    labelled) are skipped for that sample. Only view 0 of the ground truth
    ``(V, C, H, W)`` is used, matching ``pred_<task>`` ``(C, H, W)``.

    Output keys: ``'<task>/<metric>'`` and, with a ``baseline``, ``'delta'``
    (Δ_m in percent, :func:`delta_percent`). A text table is logged.

    The tasks come from the evaluated dataset: mmengine's loops set
    ``dataset_meta`` to the dataset's ``metainfo``, whose ``task_cfgs``
    (published by every mtlpartial dataset) are the task configs of that
    dataset, so configs do not repeat them. The meters, the Δ metrics and
    the baseline are checked when the tasks are known: at construction
    with ``tasks``, otherwise when ``dataset_meta`` is set (when the loop
    is built, before the run starts).

    Args:
        tasks (list | dict, optional): the task configs or specs (as the
            model's ``tasks``). Defaults to None: taken from
            ``dataset_meta['task_cfgs']``. Given, they are used as they are
            (``TaskConsistencyHook`` checks them against the model).
        baseline (dict, optional): ``{'<task>/<metric>': value}`` of the
            reference model, exactly for the Δ metrics (see docs/metrics.md
            for the MTPSL/JTR/DGR baselines). None: no ``delta``.
        delta_keys (dict, optional): ``{task: metric | [metrics] | None}``
            overriding which metrics of a task enter Δ (default: the task's
            ``primary_metric``; None or [] leaves the task out).
        meters (dict, optional): ``{task: dict(**meter kwargs)}``, e.g.
            ``dict(depth=dict(clamp_pred=1e-9))`` to reproduce the MTPSL/JTR
            depth meter, or ``dict(sal=dict(average='image'))``.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): prefix of the output keys. Defaults to
            none (keys like ``'semseg/mIoU'``).
        collect_dir (str, optional): see mmengine ``BaseMetric``.
        class_metrics (bool): also output the IoU of every class of the
            segmentation tasks as ``'<task>/IoU.<class name>'`` (logged to
            the scalars file, e.g. to check that every class is learned).
            Defaults to False (the per-class table is logged either way).
    """

    default_prefix: Optional[str] = ''

    def __init__(self,
                 tasks: Optional[Union[Mapping[str, Any],
                                       Sequence[Any]]] = None,
                 baseline: Optional[Mapping[str, float]] = None,
                 delta_keys: Optional[Mapping[str, Any]] = None,
                 meters: Optional[Mapping[str, dict]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None,
                 class_metrics: bool = False) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        self.class_metrics = bool(class_metrics)
        self._options = dict(
            baseline=baseline, delta_keys=delta_keys, meters=meters)
        self._tasks_given = tasks is not None
        self.tasks: Optional[Dict[str, Any]] = None
        if tasks is not None:
            self._set_tasks(tasks)

    # ---------------------------------------------------------------- setup
    @property
    def dataset_meta(self) -> Optional[dict]:
        """The evaluated dataset's metainfo (set by mmengine's loops)."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        self._dataset_meta = dataset_meta
        if self._tasks_given:
            return
        task_cfgs = (dataset_meta or {}).get('task_cfgs')
        if not task_cfgs:
            raise ValueError(
                'MultiTaskMetric: no tasks: the metric was built without '
                '`tasks` and the dataset metainfo has no "task_cfgs" (keys: '
                f'{sorted(dataset_meta or {})}); evaluate an mtlpartial '
                'dataset given task configs, or pass '
                'val_evaluator.tasks / test_evaluator.tasks')
        self._set_tasks(task_cfgs)

    def _require_tasks(self) -> Dict[str, Any]:
        if self.tasks is None:
            raise RuntimeError(
                'MultiTaskMetric: no tasks yet: pass `tasks`, or set '
                '`dataset_meta` to a metainfo with "task_cfgs" (mmengine\'s '
                'ValLoop / TestLoop do so from the dataset) before '
                'evaluating')
        return self.tasks

    def _set_tasks(self, tasks: Union[Mapping[str, Any],
                                      Sequence[Any]]) -> None:
        """Build the task specs, meters, Δ directions and the baseline."""
        self.tasks = build_tasks(tasks)
        meters = dict(self._options['meters'] or {})
        unknown = sorted(set(meters) - set(self.tasks))
        if unknown:
            raise ValueError(f'MultiTaskMetric: meters given for unknown '
                             f'tasks {unknown} (tasks: {list(self.tasks)})')
        self.meter_cfgs = {name: dict(meters.get(name, {}))
                           for name in self.tasks}
        self.meters: Dict[str, BaseMeter] = OrderedDict(
            (name, build_meter(task, self.meter_cfgs[name]))
            for name, task in self.tasks.items())
        self.delta_directions = self._resolve_delta_keys(
            self._options['delta_keys'])
        self.baseline = self._check_baseline(self._options['baseline'])

    def _resolve_delta_keys(self, delta_keys: Optional[Mapping[str, Any]]
                            ) -> Dict[str, bool]:
        chosen: Dict[str, List[str]] = OrderedDict(
            (name, [task.primary_metric])
            for name, task in self.tasks.items())
        for name, value in (delta_keys or {}).items():
            if name not in self.tasks:
                raise ValueError(f'MultiTaskMetric: delta_keys names unknown '
                                 f'task "{name}" (tasks: {list(self.tasks)})')
            if value is None:
                value = []
            chosen[name] = [value] if isinstance(value, str) else list(value)
        directions: Dict[str, bool] = OrderedDict()
        for name, metric_names in chosen.items():
            available = self.meters[name].higher_is_better
            for metric in metric_names:
                if metric not in available:
                    raise ValueError(
                        f'MultiTaskMetric: task "{name}" has no metric '
                        f'{metric!r} for delta (available: '
                        f'{sorted(available)})')
                directions[f'{name}/{metric}'] = available[metric]
        return directions

    def _check_baseline(self, baseline: Optional[Mapping[str, float]]
                        ) -> Optional[Dict[str, float]]:
        if baseline is None:
            return None
        baseline = {str(k): float(v) for k, v in dict(baseline).items()}
        missing = [k for k in self.delta_directions if k not in baseline]
        extra = [k for k in baseline if k not in self.delta_directions]
        if missing or extra:
            raise ValueError(
                'MultiTaskMetric: the baseline must give exactly the delta '
                f'metrics {list(self.delta_directions)}; missing {missing}, '
                f'unexpected {extra} (choose the metrics with delta_keys)')
        for key, value in baseline.items():
            if value == 0 or not math.isfinite(value):
                raise ValueError(f'MultiTaskMetric: baseline "{key}" must be '
                                 f'finite and non-zero, got {value}')
        return baseline

    # -------------------------------------------------------------- process
    @staticmethod
    def _as_dict(sample: Any) -> Mapping:
        if isinstance(sample, Mapping):
            return sample
        if hasattr(sample, 'to_dict'):
            return sample.to_dict()
        raise TypeError('MultiTaskMetric: data samples must be dicts or '
                        f'data elements, got {type(sample).__name__}')

    @staticmethod
    def _view0(name: str, gt: Any) -> Tensor:
        gt = torch.as_tensor(gt)
        if gt.dim() == 4:
            return gt[0]
        if gt.dim() == 3:
            return gt
        raise ValueError(f'task "{name}": ground truth must have shape '
                         f'(V, C, H, W) or (C, H, W), got {tuple(gt.shape)}')

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Reduce a batch to per-sample statistics in ``self.results``.

        Raises:
            KeyError: a labelled task has no ``pred_<task>``.
            ValueError: a prediction does not have the shape of the ground
                truth, or holds invalid values (names the task).
        """
        self._require_tasks()
        samples = [self._as_dict(s) for s in data_samples]
        entries: List[Dict[str, Any]] = [dict() for _ in samples]
        for name, meter in self.meters.items():
            gt_key, pred_key = f'gt_{name}', f'pred_{name}'
            groups: Dict[tuple, List[int]] = OrderedDict()
            preds: Dict[int, Tensor] = {}
            gts: Dict[int, Tensor] = {}
            for i, sample in enumerate(samples):
                if sample.get(gt_key) is None:
                    continue
                if sample.get(pred_key) is None:
                    raise KeyError(f'task "{name}": sample {i} has ground '
                                   f'truth but no "{pred_key}"')
                pred = torch.as_tensor(sample[pred_key])
                gt = self._view0(name, sample[gt_key])
                if tuple(pred.shape) != tuple(gt.shape):
                    raise ValueError(
                        f'task "{name}": prediction shape '
                        f'{tuple(pred.shape)} does not match the ground '
                        f'truth (view 0) shape {tuple(gt.shape)}')
                preds[i], gts[i] = pred, gt
                groups.setdefault(tuple(pred.shape), []).append(i)
            for members in groups.values():
                pred = torch.stack([preds[i] for i in members])
                gt = torch.stack([gts[i] for i in members]).to(pred.device)
                try:
                    with torch.no_grad():
                        stats = meter.sample_stats(pred, gt)
                except ValueError as e:
                    raise ValueError(f'task "{name}": {e}') from e
                stats = {k: v.detach().cpu() for k, v in stats.items()}
                for j, i in enumerate(members):
                    entries[i][name] = pack_stats(
                        {k: v[j] for k, v in stats.items()})
        self.results.extend(entries)

    # -------------------------------------------------------------- compute
    def merge_task(self, name: str, results: Sequence[Mapping]
                   ) -> Optional[BaseMeter]:
        """A fresh meter of ``name`` holding the sum of ``results``' stats
        (None when no result has this task)."""
        meter = build_meter(self.tasks[name], self.meter_cfgs[name])
        found = False
        for entry in results:
            if name in entry:
                meter.merge(unpack_stats(entry[name]))
                found = True
        return meter if found else None

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Merge the per-sample statistics of all ranks into the metrics."""
        metrics: Dict[str, float] = OrderedDict()
        per_class: List[str] = []
        for name in self._require_tasks():
            meter = self.merge_task(name, results)
            if meter is None:
                print_log(f'MultiTaskMetric: no sample is labelled for task '
                          f'"{name}"; its metrics are left out',
                          logger='current', level=logging.WARNING)
                continue
            for key, value in meter.compute().items():
                metrics[f'{name}/{key}'] = value
            if isinstance(meter, SemSegMeter):
                per_class.append(self._class_table(name, meter))
                if self.class_metrics:
                    names = self.tasks[name].class_names
                    for c, v in zip(names, meter.iou_per_class()):
                        metrics[f'{name}/IoU.{c}'] = float(v)
        if self.baseline is not None:
            missing = [k for k in self.baseline if k not in metrics]
            if missing:
                print_log(f'MultiTaskMetric: delta not computed, metrics '
                          f'{missing} are missing', logger='current',
                          level=logging.WARNING)
            else:
                metrics['delta'] = delta_percent(metrics, self.baseline,
                                                 self.delta_directions)
        print_log('\n'.join(per_class + [self._summary_table(metrics)]),
                  logger='current')
        return dict(metrics)

    def _class_table(self, name: str, meter: SemSegMeter) -> str:
        names = self.tasks[name].class_names
        rows = [[c, v] for c, v in zip(names, meter.iou_per_class())]
        return text_table(['class', 'IoU'], rows, f'{name} per class:')

    def _summary_table(self, metrics: Mapping[str, float]) -> str:
        header = ['task', 'metric', 'value']
        if self.baseline is not None:
            header += ['baseline', 'in delta']
        rows = []
        for key, value in metrics.items():
            if key == 'delta':
                continue
            task, metric = key.split('/', 1)
            row: List[Union[str, float]] = [task, metric, value]
            if self.baseline is not None:
                base = self.baseline.get(key)
                row += ['' if base is None else base,
                        'yes' if key in self.delta_directions else '']
            rows.append(row)
        if 'delta' in metrics:
            row = ['all', 'delta (%)', metrics['delta']]
            rows.append(row + ['', ''])
        return text_table(header, rows, 'Multi-task metrics:')


def text_table(header: Sequence[str], rows: Sequence[Sequence[Any]],
               title: str) -> str:
    """``title`` over a PrettyTable of ``rows`` (left-aligned, floats with
    4 decimals, NaN as 'nan'), as mmseg's metrics print theirs."""
    table = PrettyTable(list(header), align='l', float_format='.4')
    table.add_rows(rows)
    return f'{title}\n{table.get_string()}'
