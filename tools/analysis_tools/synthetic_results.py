# Copyright (c) mtlpartial contributors. All rights reserved.
"""Re-run the synthetic benchmark and write the results page.

Trains every (method, setting, seed) with ``tools/train.py`` on the
embedded synthetic scenes, reads the final validation metrics (test split)
from each work dir and writes a markdown page with mean ± std over seeds
and Δ% against supervised MTL of the same setting.

Example (the table in docs/results.md):
    python tools/analysis_tools/synthetic_results.py \\
        --methods supervised ssl mtpsl jtr dgr \\
        --settings onelabel random --seeds 0 1 2 --out docs/results.md

Finished runs are reused (``--work-root``), so an interrupted sweep can be
re-run with the same command. Where ``--out`` exists, everything from its
``NOTES_MARKER`` line on (the hand-written discussion) is kept.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402

PRIMARY = {'semseg/mIoU': True, 'depth/abs_err': False, 'normal/mean': False}
SHOWN = ['semseg/mIoU', 'semseg/pixel_acc', 'depth/abs_err', 'depth/rmse',
         'normal/mean', 'normal/median']
HIGHER = {'semseg/mIoU': True, 'semseg/pixel_acc': True,
          'depth/abs_err': False, 'depth/rmse': False,
          'normal/mean': False, 'normal/median': False}


def last_val_metrics(work_dir: str) -> Dict[str, float]:
    """The last validation entry of the newest scalars.json in a work dir."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data',
                                         'scalars.json')))
    if not runs:
        raise FileNotFoundError(f'no vis_data/scalars.json in {work_dir}')
    last = None
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as f:
        for line in f:
            entry = json.loads(line)
            if 'semseg/mIoU' in entry:
                last = entry
    if last is None:
        raise ValueError(f'{work_dir}: no validation metrics logged')
    return last


def run_one(method: str, setting: str, seed: int,
            args) -> Optional[Dict[str, float]]:
    """Train one run (or read its finished metrics); ``None`` when it is
    missing and ``--skip-missing`` is set."""
    work_dir = osp.join(args.work_root, f'{method}_{setting}_seed{seed}')
    done = osp.join(work_dir, 'final_metrics.json')
    if osp.isfile(done):
        with open(done) as f:
            return dict(json.load(f), seed=seed)
    if args.skip_missing:
        return None
    cfg = osp.join(REPO_ROOT, 'configs', method, f'synthetic_{setting}.py')
    options = [
        f'randomness.seed={seed}', f'train_cfg.max_epochs={args.epochs}',
        f'train_cfg.val_interval={args.epochs}',
        f'param_scheduler.0.T_max={args.epochs}',
        f'train_dataloader.dataset.num_images={args.num_train}',
        f'val_dataloader.dataset.num_images={args.num_test}',
        f'train_dataloader.num_workers={args.workers}',
        f'val_dataloader.num_workers={args.workers}',
        f'train_dataloader.persistent_workers={args.workers > 0}',
        f'val_dataloader.persistent_workers={args.workers > 0}',
        'default_hooks.visualization.draw=False',
        'default_hooks.checkpoint.interval=-1',
        'default_hooks.logger.interval=50'
    ]
    cmd = [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), cfg,
           '--work-dir', work_dir, '--cfg-options'] + options
    t0 = time.time()
    log = osp.join(args.work_root, f'{method}_{setting}_seed{seed}.log')
    os.makedirs(args.work_root, exist_ok=True)
    with open(log, 'w') as f:
        subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT,
                       env=dict(os.environ, OMP_NUM_THREADS=str(
                           args.threads)))
    metrics = last_val_metrics(work_dir)
    metrics['train_minutes'] = (time.time() - t0) / 60
    with open(done, 'w') as f:
        json.dump(metrics, f, indent=1)
    metrics['seed'] = seed
    print(f'{method:>12} {setting:>8} seed {seed}: '
          f'mIoU {metrics["semseg/mIoU"]:.2f} depth '
          f'{metrics["depth/abs_err"]:.4f} normal '
          f'{metrics["normal/mean"]:.2f} '
          f'({metrics["train_minutes"]:.1f} min)', flush=True)
    return metrics


NOTES_MARKER = '<!-- notes: kept when the tables are regenerated -->'


def delta(m: Dict[str, float], base: Dict[str, float]) -> float:
    terms = [(m[k] - base[k]) / base[k] * (1 if hi else -1)
             for k, hi in PRIMARY.items()]
    return 100 * float(np.mean(terms))


def write_page(results, args) -> None:
    lines = [
        '# Results on the embedded synthetic benchmark', '',
        'Produced by `python tools/analysis_tools/synthetic_results.py '
        + ' '.join(sys.argv[1:]) + '`.', '',
        f'Protocol: small MTAN SegNet (`configs/_base_/models/'
        f'segnet_small.py`), {args.num_train} training scenes, '
        f'{args.num_test} test scenes at 64x80, batch 8, Adam with '
        f'cosine schedule, {args.epochs} epochs, CPU. The label mask is '
        'fixed per setting (seed 0); the seeds vary initialisation, data '
        'order and augmentation. Metrics are those of the final model on '
        'the test split. Δ% (Maninis et al.) is over mIoU, depth abs err '
        'and normal mean angle, against supervised MTL of the same '
        'setting and seed, then averaged over seeds.', ''
    ]
    for setting in args.settings:
        lines += [f'## {setting}', '',
                  '| method | ' + ' | '.join(SHOWN) +
                  ' | Δ% | min/run | seeds |',
                  '|---|' + '---|' * (len(SHOWN) + 3)]
        base = {r['seed']: r for r in results[setting]['supervised']}
        for method in args.methods:
            # Δ% needs supervised MTL of the same seed
            runs = [r for r in results[setting][method] if r['seed'] in base]
            if not runs:
                continue
            cells = []
            for k in SHOWN:
                v = np.array([r[k] for r in runs])
                arrow = '↑' if HIGHER[k] else '↓'
                cells.append(f'{v.mean():.3f} ± {v.std(ddof=1):.3f} '
                             f'{arrow}' if len(v) > 1 else f'{v[0]:.3f}')
            deltas = np.array([delta(r, base[r['seed']]) for r in runs])
            minutes = np.mean([r['train_minutes'] for r in runs])
            cells.append(f'{deltas.mean():+.2f} ± {deltas.std(ddof=1):.2f}'
                         if len(deltas) > 1 else f'{deltas[0]:+.2f}')
            cells.append(f'{minutes:.1f}')
            seeds = ','.join(str(r['seed']) for r in runs)
            lines.append(f'| {method} | ' + ' | '.join(cells) +
                         f' | {seeds} |')
        lines.append('')
    text = '\n'.join(lines)
    if osp.isfile(args.out):  # keep the hand-written discussion
        with open(args.out, encoding='utf-8') as f:
            old = f.read()
        if NOTES_MARKER in old:
            text += '\n' + old[old.index(NOTES_MARKER):]
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write(text)
    print(f'wrote {args.out}')


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--methods', nargs='+',
                   default=['supervised', 'ssl', 'mtpsl', 'jtr', 'dgr'])
    p.add_argument('--settings', nargs='+', default=['onelabel', 'random'])
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--epochs', type=int, default=10)
    p.add_argument('--num-train', type=int, default=300)
    p.add_argument('--num-test', type=int, default=100)
    p.add_argument('--workers', type=int, default=0)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--work-root', default='work_dirs/synthetic_results')
    p.add_argument('--out', default='docs/results.md')
    p.add_argument('--skip-missing', action='store_true',
                   help='only tabulate finished runs, train nothing')
    args = p.parse_args()
    if 'supervised' not in args.methods:
        args.methods = ['supervised'] + args.methods
    results: Dict[str, Dict[str, List]] = {}
    for seed in args.seeds:  # seeds outermost: partial tables early
        for setting in args.settings:
            for method in args.methods:
                run = run_one(method, setting, seed, args)
                runs = results.setdefault(setting, {}).setdefault(method, [])
                if run is not None:
                    runs.append(run)
        write_page(results, args)


if __name__ == '__main__':
    main()
