# Copyright (c) mtlpartial contributors. All rights reserved.
"""The synthetic benchmark: run it in chunks, then write the results page.

Two commands:

* ``run``: train and test every missing (setting, method, seed) with
  ``tools/train.py`` / ``tools/test.py`` on the configs as they are (the
  protocol lives in ``configs/_base_/datasets/synthetic.py`` and the method
  configs; only the seed, the work dir and run-time options such as the
  number of workers are set here), and write one small JSON summary per
  run under ``--runs`` (test metrics, validation curves, diagnostics,
  config, seed, commit, minutes). Finished summaries are skipped, so an
  interrupted sweep continues where it stopped, in this or a later sitting.
* ``page``: read the summaries and write ``docs/results.md`` with its
  figures (no training).

A seed fixes the initialisation of the shared network and the view-0
augmentation draws for every method (``MultiView`` and the regularizers
leave the global random streams alone), so differences between methods
of a seed are paired; the page reports the paired difference to supervised
MTL with its 95% t-interval over seeds.

Examples::

    python tools/analysis_tools/synthetic_results.py run \\
        --settings onelabel random --methods supervised full mtpsl \\
        --seeds 0 1 2 3 4 --jobs 2
    python tools/analysis_tools/synthetic_results.py page
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import numpy as np  # noqa: E402
import results_page  # noqa: E402  (tools/analysis_tools/results_page.py)

from mtlpartial.utils.run_logs import (find_scalar_files,  # noqa: E402
                                       read_json_lines, read_scalars)

#: method name -> (config folder, config suffix); ``full`` ignores the
#: setting (every label), the ``_stable`` variants use the stability
#: options (see docs/results.md).
METHODS = {
    'supervised': ('supervised', ''),
    'full': ('supervised', 'full'),
    'ssl': ('ssl', ''),
    'directmap': ('directmap', ''),
    'directmap_stable': ('directmap', '_stable'),
    'perceptualmap': ('perceptualmap', ''),
    'perceptualmap_stable': ('perceptualmap', '_stable'),
    'mtpsl': ('mtpsl', ''),
    'mtpsl_stable': ('mtpsl', '_stable'),
    'jtr': ('jtr', ''),
    'jtr_stable': ('jtr', '_stable'),
    'dgr': ('dgr', ''),
    'dgr_stable': ('dgr', '_stable'),
    'diffusionmtl': ('diffusionmtl', ''),
}
SETTINGS = ('onelabel', 'random')
#: run-time options of every run (not part of the protocol)
RUNTIME_OPTIONS = [
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'default_hooks.visualization.draw=False',
    'default_hooks.logger.interval=50',
    # diagnostics (gradient ratio, joint-space cosine gap) every 50
    # iterations: two extra backward passes per regularizer then
    'model.train_cfg.diagnostics_interval=50',
]


def config_path(method: str, setting: str) -> str:
    if method not in METHODS:
        raise KeyError(f'unknown method {method!r}; known: {list(METHODS)}')
    folder, suffix = METHODS[method]
    name = 'synthetic_full.py' if suffix == 'full' else \
        f'synthetic_{setting}{suffix}.py'
    return osp.join('configs', folder, name)


def run_key(method: str, setting: str) -> str:
    """Folder of a run's summaries (``full`` is shared by the settings)."""
    return osp.join('full' if method == 'full' else setting, method)


def summarise(work_dir: str) -> dict:
    """Validation curve (from the newest scalars file) and diagnostics
    (from ``RegularizerDiagnosticsHook``'s ``diagnostics.jsonl`` beside
    it) of a run."""
    scalars = find_scalar_files(work_dir)[-1]
    curve = [{k: v for k, v in e.items() if '/' in k or k == 'step'}
             for e in read_scalars(scalars)
             if any(k.endswith('/mIoU') for k in e)]
    diagnostics = osp.join(osp.dirname(osp.dirname(scalars)),
                           'diagnostics.jsonl')
    return dict(val_curve=curve, diagnostics=read_json_lines(diagnostics)
                if osp.isfile(diagnostics) else [])


def git_commit() -> str:
    try:
        return subprocess.run(
            ['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO_ROOT,
            capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def run_one(method: str, setting: str, seed: int, args) -> Optional[str]:
    """Train and test one run and write its summary; returns its path
    (None when it already exists)."""
    out = osp.join(args.runs, run_key(method, setting), f'seed{seed}.json')
    if osp.isfile(out):
        return None
    cfg = config_path(method, setting)
    if not osp.isfile(osp.join(REPO_ROOT, cfg)):
        raise FileNotFoundError(f'{cfg}: no config for method {method!r} '
                                f'and setting {setting!r}')
    work_dir = osp.join(args.work_root, run_key(method, setting),
                        f'seed{seed}')
    os.makedirs(work_dir, exist_ok=True)
    options = [f'randomness.seed={seed}'] + RUNTIME_OPTIONS + \
        list(args.extra_options)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads))
    t0 = time.time()
    with open(osp.join(work_dir, 'run.log'), 'w') as log:
        subprocess.run(
            [sys.executable, 'tools/train.py', cfg, '--work-dir', work_dir,
             '--cfg-options'] + options, cwd=REPO_ROOT, env=env, check=True,
            stdout=log, stderr=subprocess.STDOUT)
        minutes = (time.time() - t0) / 60
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            ckpt = f.read().strip()
        metrics = osp.join(work_dir, 'test_metrics.json')
        subprocess.run(
            [sys.executable, 'tools/test.py', cfg, ckpt, '--work-dir',
             osp.join(work_dir, 'test'), '--out', metrics, '--cfg-options']
            + options, cwd=REPO_ROOT, env=env, check=True, stdout=log,
            stderr=subprocess.STDOUT)
    with open(metrics) as f:
        test = json.load(f)
    summary = dict(
        method=method, setting=setting, seed=seed, config=cfg,
        cfg_options=options, commit=git_commit(),
        train_minutes=round(minutes, 2), test=test,
        **summarise(work_dir))
    os.makedirs(osp.dirname(out), exist_ok=True)
    tmp = out + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    os.replace(tmp, out)
    print(f'{method:>22} {setting:>8} seed {seed}: '
          + ' '.join(f'{k} {test[k]:.4g}' for k in results_page.PRIMARY)
          + f' ({minutes:.1f} min)', flush=True)
    return out


def cmd_run(args) -> None:
    jobs = [(m, s, seed) for seed in args.seeds for s in args.settings
            for m in args.methods
            if not (m == 'full' and s != args.settings[0])]
    failures = []

    def work(job):
        try:
            run_one(*job, args)
        except (subprocess.CalledProcessError, OSError, KeyError) as e:
            failures.append((job, e))
            print(f'FAILED {job}: {e}', flush=True)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(work, jobs))
    if failures:
        sys.exit(f'{len(failures)} run(s) failed; see their run.log under '
                 f'{args.work_root}')


def cmd_page(args) -> None:
    runs = results_page.load_runs(args.runs)
    results_page.write_page(runs, args.out, args.figures,
                            ' '.join(sys.argv[1:]))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='command', required=True)
    run = sub.add_parser('run', help='train and test missing runs')
    run.add_argument('--methods', nargs='+', default=['supervised', 'full'],
                     choices=list(METHODS))
    run.add_argument('--settings', nargs='+', default=list(SETTINGS),
                     choices=list(SETTINGS))
    run.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2, 3, 4])
    run.add_argument('--jobs', type=int, default=1,
                     help='runs at a time (one thread each by default)')
    run.add_argument('--threads', type=int, default=1)
    run.add_argument('--work-root', default='work_dirs/synthetic_results')
    run.add_argument('--extra-options', nargs='*', default=[],
                     help='more --cfg-options (recorded in the summary; '
                     'for smoke tests, not for the results page)')
    page = sub.add_parser('page', help='write the results page')
    page.add_argument('--out', default='docs/results.md')
    page.add_argument('--figures', default='docs/results')
    for q in (run, page):
        q.add_argument('--runs', default='docs/results/runs',
                       help='folder of the per-run JSON summaries')
    args = p.parse_args(argv)
    args.runs = osp.abspath(args.runs)
    if args.command == 'run':
        args.work_root = osp.abspath(args.work_root)
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    np.seterr(all='ignore')
    dict(run=cmd_run, page=cmd_page)[args.command](args)


if __name__ == '__main__':
    main()
