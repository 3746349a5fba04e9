# Copyright (c) mtlpartial contributors. All rights reserved.
"""Collect the final validation metrics of several runs into a table.

The last validation record of each work dir (``<timestamp>/vis_data/
scalars.json``, the newest run folder that has one) becomes one row of a
markdown table; the columns are the metrics. With ``--baseline WORK_DIR``
a ``Δ% vs <baseline>`` column is added: Δ_m of
:func:`mtlpartial.evaluation.delta_percent` over the Δ metrics of the
config's ``val_evaluator`` (each task's ``primary_metric`` unless
``delta_keys`` says otherwise; ``--delta-metrics`` overrides), with the
directions (higher/lower is better) of the task meters.

Examples:
    python tools/analysis_tools/collect_results.py work_dirs/* \\
        --baseline work_dirs/full --out results.md
"""
import argparse
import fnmatch
import glob
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mtlpartial.utils.run_logs import (find_scalar_files,  # noqa: E402
                                       is_train_record, read_scalars,
                                       run_names)

#: keys of a validation record that are not metrics.
NON_METRIC_KEYS = ('step', 'epoch', 'iter', 'data_time', 'time', 'memory')


def last_val_metrics(work_dir: str) -> Tuple[Dict[str, float], int]:
    """Metrics of the last validation of ``work_dir`` (in the newest
    ``scalars.json`` that has one) and its step.

    Raises:
        FileNotFoundError: if the work dir has no ``scalars.json`` or no
            validation record (names the work dir).
    """
    files = find_scalar_files(work_dir)
    for path in reversed(files):
        val = [r for r in read_scalars(path) if not is_train_record(r)]
        if val:
            metrics = {
                k: float(v)
                for k, v in val[-1].items()
                if k not in NON_METRIC_KEYS and isinstance(v, (int, float))
            }
            return metrics, int(val[-1]['step'])
    raise FileNotFoundError(
        f'{work_dir}: no validation record in {files}; did the run reach a '
        'validation (train_cfg.val_interval)?')


def find_config(work_dir: str) -> str:
    """The config dumped by the runner into ``work_dir``.

    Raises:
        FileNotFoundError: if there is none (pass ``--config``).
    """
    top = sorted(glob.glob(osp.join(work_dir, '*.py')))
    if len(top) == 1:
        return top[0]
    dumped = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                       'config.py')))
    if dumped:
        return dumped[-1]
    raise FileNotFoundError(
        f'{work_dir}: cannot find the config of the run (expected one *.py '
        f'in the work dir, found {len(top)}, or <timestamp>/vis_data/'
        'config.py); pass --config')


def delta_directions(config: str,
                     delta_metrics: Optional[Sequence[str]] = None
                     ) -> Dict[str, bool]:
    """``{'<task>/<metric>': higher_is_better}`` of the Δ metrics.

    Args:
        config: a config with ``val_evaluator`` of type MultiTaskMetric.
        delta_metrics: ``'<task>/<metric>'`` names overriding the
            evaluator's choice.

    Raises:
        KeyError / ValueError: naming the config and the bad key.
    """
    from mmengine.config import Config

    from mtlpartial.evaluation import MultiTaskMetric
    cfg = Config.fromfile(config)
    evaluator = cfg.get('val_evaluator')
    if isinstance(evaluator, (list, tuple)):
        evaluator = next((e for e in evaluator
                          if 'MultiTaskMetric' in str(e.get('type'))), None)
    if not evaluator:
        raise KeyError(f'{config}: val_evaluator must be a MultiTaskMetric '
                       'to know the Δ metrics and directions')
    # the metric takes its tasks from the dataset it evaluates (dataset_meta)
    tasks = evaluator.get('tasks') or cfg.get('val_dataloader', {}).get(
        'dataset', {}).get('tasks')
    if not tasks:
        raise KeyError(f'{config}: neither val_evaluator.tasks nor '
                       'val_dataloader.dataset.tasks is set: the Δ metrics '
                       'and directions are unknown')
    metric = MultiTaskMetric(
        tasks=tasks,
        delta_keys=evaluator.get('delta_keys'),
        meters=evaluator.get('meters'))
    if not delta_metrics:
        return dict(metric.delta_directions)
    out = {}
    for name in delta_metrics:
        task, _, key = name.partition('/')
        meter = metric.meters.get(task)
        if meter is None or key not in meter.higher_is_better:
            raise KeyError(f'--delta-metrics: "{name}" is not a metric of '
                           f'{config} (tasks {list(metric.meters)}; '
                           '<task>/<metric>)')
        out[name] = meter.higher_is_better[key]
    return out


def compute_deltas(results: Mapping[str, Mapping[str, float]],
                   baseline: Mapping[str, float],
                   directions: Mapping[str, bool]) -> Dict[str, float]:
    """Δ_m (percent) of every run against ``baseline``.

    Raises:
        KeyError: naming the run and the missing metric.
    """
    from mtlpartial.evaluation import delta_percent
    missing = [k for k in directions if k not in baseline]
    if missing:
        raise KeyError(f'the baseline run has no metric {missing} '
                       f'(it has {sorted(baseline)})')
    base = {k: baseline[k] for k in directions}
    deltas = {}
    for run, metrics in results.items():
        absent = [k for k in directions if k not in metrics]
        if absent:
            raise KeyError(f'{run}: no metric {absent} for Δ% (it has '
                           f'{sorted(metrics)})')
        deltas[run] = delta_percent(metrics, base, directions)
    return deltas


def markdown_table(rows: Sequence[Tuple[str, int, Mapping[str, float]]],
                   columns: Sequence[str],
                   deltas: Optional[Mapping[str, float]] = None,
                   delta_title: str = 'Δ%',
                   precision: int = 2) -> str:
    """A markdown table: run, step, one column per metric [, Δ%]."""
    header = ['run', 'step'] + list(columns)
    if deltas is not None:
        header.append(delta_title)
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join(['---'] + ['---:'] * (len(header) - 1)) + '|']
    for name, step, metrics in rows:
        cells = [name, str(step)]
        cells += [f'{metrics[c]:.{precision}f}' if c in metrics else '-'
                  for c in columns]
        if deltas is not None:
            cells.append(f'{deltas[name]:+.{precision}f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def collect(work_dirs: Sequence[str],
            baseline: Optional[str] = None,
            metrics: Optional[Sequence[str]] = None,
            names: Optional[Sequence[str]] = None,
            config: Optional[str] = None,
            delta_metrics: Optional[Sequence[str]] = None,
            precision: int = 2) -> Tuple[str, Dict[str, dict]]:
    """Build the table; returns ``(markdown, {run: metrics [+ 'delta']})``.

    Args:
        work_dirs: the runs (one row each).
        baseline: work dir of the Δ% reference run.
        metrics: shell-style patterns of the columns (default: all).
        names: row names (default: the work dir names).
        config: config giving the Δ metrics (default: the baseline's).
        delta_metrics: override the Δ metrics (``<task>/<metric>``).
        precision: decimals.
    """
    from mmengine.utils import ProgressBar
    names = run_names(work_dirs, names)
    if len(set(names)) != len(names):
        raise ValueError(f'run names {names} are not unique; pass --names')
    rows: List[Tuple[str, int, Dict[str, float]]] = []
    progress = ProgressBar(len(work_dirs))
    for name, work_dir in zip(names, work_dirs):
        values, step = last_val_metrics(work_dir)
        rows.append((name, step, values))
        progress.update()
    sys.stdout.write('\n')
    columns: List[str] = []
    for _, _, values in rows:
        columns += [k for k in values if k not in columns]
    if metrics:
        chosen = [c for p in metrics for c in columns
                  if fnmatch.fnmatchcase(c, p)]
        unmatched = [p for p in metrics
                     if not any(fnmatch.fnmatchcase(c, p) for c in columns)]
        if unmatched:
            raise ValueError(f'--metrics: {unmatched} match no metric; '
                             f'available: {columns}')
        columns = list(dict.fromkeys(chosen))
    deltas = None
    title = 'Δ%'
    if baseline is not None:
        directions = delta_directions(config or find_config(baseline),
                                      delta_metrics)
        base_values, _ = last_val_metrics(baseline)
        deltas = compute_deltas({n: v for n, _, v in rows}, base_values,
                                directions)
        title = (f'Δ% vs {osp.basename(osp.normpath(baseline))} '
                 f'({", ".join(directions)})')
    table = markdown_table(rows, columns, deltas, title, precision)
    summary = {
        n: dict(v, **({'delta': deltas[n]} if deltas else {}))
        for n, _, v in rows
    }
    return table, summary


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Final validation metrics (and Δ%) of several work dirs '
        'as a markdown table')
    parser.add_argument('work_dirs', nargs='+', help='work dirs of runs')
    parser.add_argument('--out', help='write the markdown table here')
    parser.add_argument(
        '--baseline', help='work dir of the reference run for Δ%%')
    parser.add_argument(
        '--metrics', nargs='+',
        help='columns: metric names or shell patterns (default: all)')
    parser.add_argument('--names', nargs='+', help='row name per run')
    parser.add_argument(
        '--config', help='config whose val_evaluator defines the Δ metrics '
        '(default: the one dumped in the baseline work dir)')
    parser.add_argument(
        '--delta-metrics', nargs='+',
        help='override the Δ metrics, e.g. semseg/mIoU depth/abs_err')
    parser.add_argument('--precision', type=int, default=2,
                        help='decimals (default 2)')
    parser.add_argument('--json', help='also write {run: metrics} as JSON')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    table, summary = collect(args.work_dirs, args.baseline, args.metrics,
                             args.names, args.config, args.delta_metrics,
                             args.precision)
    print(table)
    for path, text in ((args.out, table),
                       (args.json, json.dumps(summary, indent=2))):
        if path:
            os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
            with open(path, 'w', encoding='utf-8') as f:
                f.write(text)
            print(f'written to {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
