# Copyright (c) mtlpartial contributors. All rights reserved.
"""Reading what a training run wrote to its work dir: the
``<work_dir>/<timestamp>/vis_data/scalars.json`` of mmengine's
``LocalVisBackend`` (one JSON object per line, each with its ``step``).

Lines with a loss, ``lr`` or ``iter`` are training logs (``step`` = the
iteration); the others are validation results (``step`` = the epoch of
epoch-based runs, the iteration otherwise). A resumed run has one
timestamp folder per sitting, read oldest first.

Each sitting's text log ``<work_dir>/<timestamp>/<timestamp>.log`` gives
its wall time (:func:`sitting_minutes`).

Used by ``tools/analysis_tools/collect_results.py``, ``plot_curves.py``
and ``synthetic_results.py``.
"""
import glob
import json
import os.path as osp
import re
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Tuple

#: where a work dir, a timestamp folder or the file itself has the scalars
_SCALAR_GLOBS = ('*/vis_data/scalars.json', 'vis_data/scalars.json',
                 'scalars.json')


def find_scalar_files(path: str) -> List[str]:
    """``scalars.json`` files of a work dir, oldest run first.

    Args:
        path: a work dir, a ``<timestamp>`` folder or a ``scalars.json``.

    Raises:
        FileNotFoundError: naming ``path`` if it holds none.
    """
    if osp.isfile(path):
        return [path]
    for pattern in _SCALAR_GLOBS:
        files = sorted(glob.glob(osp.join(path, pattern)))
        if files:
            return files
    raise FileNotFoundError(
        f'{path}: no <timestamp>/vis_data/scalars.json found (is it a work '
        'dir of tools/train.py with the LocalVisBackend?)')


def read_json_lines(path: str, required: Sequence[str] = ()) -> List[dict]:
    """The JSON objects of a JSON-lines file (blank lines skipped).

    Raises:
        ValueError: naming the file and line of a line that is not a JSON
            object or lacks a ``required`` key.
    """
    records = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}:{n}: not a JSON line: {e}') from e
            if not isinstance(record, dict) or any(k not in record
                                                   for k in required):
                raise ValueError(f'{path}:{n}: expected a JSON object with '
                                 f'the keys {list(required)}')
            records.append(record)
    return records


def read_scalars(path: str) -> List[dict]:
    """The records of one ``scalars.json``, in file order."""
    return read_json_lines(path, required=('step', ))


def is_train_record(record: dict) -> bool:
    """Training log lines carry losses, the learning rate or ``iter``."""
    return 'iter' in record or 'lr' in record or any(
        'loss' in k for k in record)


def run_names(work_dirs: Sequence[str],
              names: Optional[Sequence[str]] = None) -> List[str]:
    """Display names of runs: ``names`` or the work dirs' base names.

    Raises:
        ValueError: if ``names`` does not have one name per work dir.
    """
    if names is not None and len(names) != len(work_dirs):
        raise ValueError(f'--names: {len(names)} names for '
                         f'{len(work_dirs)} work dirs')
    return list(names) if names else [
        osp.basename(osp.normpath(w)) for w in work_dirs
    ]


def load_run(path: str) -> Tuple[List[dict], List[dict], bool]:
    """Training and validation records of a run (all its sittings), sorted
    by step; a later file wins for a repeated step.

    Returns:
        tuple: ``(train, val, val_by_epoch)`` where ``val_by_epoch`` says
        whether the validation step counts epochs.
    """
    train: Dict[int, dict] = {}
    val: Dict[int, dict] = {}
    by_epoch = False
    for scalars in find_scalar_files(path):
        for record in read_scalars(scalars):
            if is_train_record(record):
                by_epoch = by_epoch or 'epoch' in record
                train[int(record['step'])] = record
            else:
                val[int(record['step'])] = record
    return ([train[s] for s in sorted(train)], [val[s] for s in sorted(val)],
            by_epoch)


#: the time stamp that starts every line of mmengine's text log
_LOG_TIME = re.compile(r'^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) ')
_LOG_TIME_FORMAT = '%Y/%m/%d %H:%M:%S'


def sitting_minutes(work_dir: str) -> List[float]:
    """Wall minutes of each sitting of a run, oldest first: from the first to
    the last time-stamped line of its ``<timestamp>/<timestamp>.log``.

    Read from the logs, so a sitting that was cut off (its process killed
    with no chance to write anything more) counts up to its last log line.
    A folder of later sittings, e.g. ``tools/test.py``'s
    ``<work_dir>/test``, is not one: only direct ``<timestamp>`` children.

    Raises:
        FileNotFoundError: naming ``work_dir`` if it holds no sitting log.
    """
    logs = sorted(
        path for path in glob.glob(osp.join(work_dir, '*', '*.log'))
        if osp.basename(path)[:-4] == osp.basename(osp.dirname(path)))
    if not logs:
        raise FileNotFoundError(
            f'{work_dir}: no <timestamp>/<timestamp>.log found (is it a work '
            'dir of tools/train.py?)')
    minutes = []
    for path in logs:
        first = last = None
        with open(path, encoding='utf-8', errors='replace') as f:
            for line in f:
                found = _LOG_TIME.match(line)
                if found:
                    last = found.group(1)
                    first = first or last
        if first is None:
            minutes.append(0.0)
            continue
        span = datetime.strptime(last, _LOG_TIME_FORMAT) - \
            datetime.strptime(first, _LOG_TIME_FORMAT)
        minutes.append(span.total_seconds() / 60)
    return minutes
