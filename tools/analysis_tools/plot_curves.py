# Copyright (c) mtlpartial contributors. All rights reserved.
"""Plot training and validation curves of one or more work dirs.

Reads ``<work_dir>/<timestamp>/vis_data/scalars.json`` (mmengine
``LocalVisBackend``: one JSON object per line). Lines with a loss, ``lr``
or ``iter`` are training logs (x = iteration); the others are validation
results (x = epoch for epoch-based runs, iteration otherwise). Runs that
were resumed have several timestamp folders: they are read in order and a
later file wins for a repeated step.

Examples:
    python tools/analysis_tools/plot_curves.py work_dirs/a work_dirs/b \\
        --keys loss 'loss_*' semseg/mIoU depth/abs_err --out curves.png
"""
import argparse
import fnmatch
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mtlpartial.utils.run_logs import load_run, run_names  # noqa: E402

#: keys of a scalars line that are bookkeeping, not curves.
META_KEYS = ('step', 'epoch', 'iter')


def curve_keys(records: Sequence[dict]) -> List[str]:
    """Numeric keys of ``records`` in first-seen order (no step keys)."""
    keys: Dict[str, None] = {}
    for r in records:
        for k, v in r.items():
            if k not in META_KEYS and isinstance(v, (int, float)):
                keys.setdefault(k)
    return list(keys)


def select_keys(patterns: Sequence[str], available: Sequence[str]
                ) -> List[str]:
    """Keys matching the shell-style ``patterns``, in pattern order."""
    out: List[str] = []
    for pattern in patterns:
        for key in available:
            if fnmatch.fnmatchcase(key, pattern) and key not in out:
                out.append(key)
    return out


def plot_curves(work_dirs: Sequence[str],
                keys: Sequence[str],
                out: str,
                names: Optional[Sequence[str]] = None,
                ncols: int = 3,
                title: Optional[str] = None) -> List[str]:
    """Draw one panel per (key, phase) with one line per run.

    Args:
        work_dirs: the runs.
        keys: shell-style patterns of scalar names (``loss``, ``loss_*``,
            ``semseg/mIoU``).
        out: the PNG to write.
        names: legend names (default: the work dir names).
        ncols: panels per row.
        title: figure title.

    Returns:
        list[str]: the panel titles drawn (``'train: loss'``, ...).

    Raises:
        ValueError: if a pattern matches nothing, listing the keys.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from mmengine.utils import ProgressBar

    names = run_names(work_dirs, names)
    runs = []
    progress = ProgressBar(len(work_dirs))
    for work_dir in work_dirs:
        runs.append(load_run(work_dir))
        progress.update()
    sys.stdout.write('\n')
    train_keys = curve_keys([r for run in runs for r in run[0]])
    val_keys = curve_keys([r for run in runs for r in run[1]])
    for pattern in keys:
        if not select_keys([pattern], train_keys + val_keys):
            raise ValueError(
                f'--keys: "{pattern}" matches no scalar of {list(work_dirs)};'
                f' training keys: {train_keys}; validation keys: {val_keys}')
    panels = [('train', k) for k in select_keys(keys, train_keys)]
    panels += [('val', k) for k in select_keys(keys, val_keys)]
    ncols = max(1, min(ncols, len(panels)))
    nrows = (len(panels) + ncols - 1) // ncols
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.5 * ncols, 3.2 * nrows), squeeze=False)
    for ax, (phase, key) in zip(axes.flat, panels):
        for name, (train, val, by_epoch) in zip(names, runs):
            records = train if phase == 'train' else val
            xs = [r['step'] for r in records if key in r]
            ys = [r[key] for r in records if key in r]
            if xs:
                ax.plot(xs, ys, marker='o' if len(xs) < 30 else None,
                        markersize=3, label=name)
        by_epoch = any(run[2] for run in runs)
        ax.set_xlabel('iteration' if phase == 'train' or not by_epoch else
                      'epoch')
        ax.set_title(f'{phase}: {key}')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis('off')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return [f'{p}: {k}' for p, k in panels]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Plot training/validation curves from the '
        'vis_data/scalars.json of work dirs')
    parser.add_argument('work_dirs', nargs='+', help='work dirs of runs')
    parser.add_argument(
        '--keys', nargs='+', default=['loss'],
        help='scalar names or shell patterns, e.g. loss "loss_*" '
        'semseg/mIoU (default: loss)')
    parser.add_argument('--out', default='curves.png', help='output PNG')
    parser.add_argument('--names', nargs='+', help='legend name per run')
    parser.add_argument('--ncols', type=int, default=3,
                        help='panels per row')
    parser.add_argument('--title', help='figure title')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    panels = plot_curves(args.work_dirs, args.keys, args.out, args.names,
                         args.ncols, args.title)
    print(f'{len(panels)} panels ({", ".join(panels)}) written to '
          f'{args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
