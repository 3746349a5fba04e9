# Copyright (c) mtlpartial contributors. All rights reserved.
"""The synthetic benchmark: run it in chunks, then write the results page.

Commands:

* ``run``: train and test every missing (setting, method, seed) with
  ``tools/train.py`` / ``tools/test.py`` on the configs as they are (the
  protocol lives in ``configs/_base_/datasets/synthetic.py`` and the method
  configs; only the seed, the work dir and run-time options such as the
  number of workers are set here), and write one small JSON summary per
  run under ``--runs`` (test metrics, validation curves, diagnostics,
  config, seed, commit, device, minutes). Finished summaries are skipped
  and a run cut off mid-training resumes from its last checkpoint, so an
  interrupted sweep continues where it stopped, in this or a later
  sitting; a run that another sweep is training (its ``seedN.json.lock``)
  is skipped, so two sweeps may share a seed list.
* ``page``: read the summaries and write ``docs/results.md`` with its
  figures (no training).
* ``compare``: one row against another (default supervised MTL), seed by
  seed, with the paired interval (no training).
* ``headroom``: full labels against partial labels, supervised MTL (no
  training); with ``--split val`` on the runs of a candidate protocol
  (``run --extra-options ... --runs <folder>``), the measurement on which a
  protocol is chosen.
* ``protocol``: the protocol fingerprint of each summary, recomputed from
  its config and options at the current configs, against the one it
  records; ``--write`` records it in summaries written before it existed.

Every summary records its protocol: a fingerprint of the parts of the
resolved config that every method of a page shares (:data:`PROTOCOL_KEYS`).
``run`` stops before training when ``--runs`` holds summaries of another
protocol, and ``page``, ``compare`` and ``headroom`` refuse a folder that
mixes protocols, so a change to the protocol's configs never puts runs of
two protocols in one table.

A seed fixes the initialisation of the shared network and the view-0
augmentation draws for every method (``MultiView`` and the regularizers
leave the global random streams alone), so differences between methods
of a seed are paired; the page reports the paired difference to supervised
MTL with its 95% t-interval over seeds.

A run trains on the first GPU when there is one (as ``tools/train.py``
does), in float32 with TF32 off, and records the device. There its data
order and augmentation draws are those of a CPU run of the seed (CPU
generator), but not its initialisation: mmengine's runner moves the model
to the GPU before it initialises the weights (``init_cfg``), which then
come from the CUDA generator, as do any draws a method makes on the GPU.
A GPU run is therefore only partly paired with the CPU runs of its seed;
measure the device difference with supervised runs on the GPU before
putting GPU runs in a CPU page. The page gives minutes per device.

Examples::

    python tools/analysis_tools/synthetic_results.py run \\
        --settings onelabel random --methods supervised full mtpsl \\
        --seeds 0 1 2 3 4 --jobs 2
    python tools/analysis_tools/synthetic_results.py page
    python tools/analysis_tools/synthetic_results.py compare jtr_stable ssl \\
        --setting onelabel
"""
import argparse
import glob
import hashlib
import json
import os
import os.path as osp
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import numpy as np  # noqa: E402
import results_page  # noqa: E402  (tools/analysis_tools/results_page.py)
from mmengine.config import Config, DictAction  # noqa: E402

from mtlpartial.utils.run_logs import (find_scalar_files,  # noqa: E402
                                       read_json_lines, read_scalars,
                                       sitting_minutes)

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
    # a control: JTR-stable's views and auto-encoder, no JTR gradient
    'jtr_viewsonly': ('jtr', '_viewsonly'),
    # JTR-stable with each view through the network on its own (BatchNorm)
    'jtr_stable_perview': ('jtr', '_stable_perview'),
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


#: the parts of a resolved config that are the benchmark protocol, the same
#: for every method and setting of a page: data and augmentation, tasks,
#: network, batch, schedule, the MTL network's optimizer and the hooks
#: (an EMA of the weights changes the model that is evaluated)
PROTOCOL_KEYS = ('train_dataloader.batch_size', 'train_dataloader.dataset',
                 'val_dataloader.dataset', 'test_dataloader.dataset',
                 'model.tasks', 'model.backbone', 'optim_wrapper.optimizer',
                 'param_scheduler', 'train_cfg', 'custom_hooks',
                 'default_hooks.ema')
#: parts of the protocol that entered the fingerprint after runs had been
#: recorded (2026-12-05): each is hashed only when it differs from the value
#: every earlier run had, so those runs keep their fingerprints. The
#: sampler sets the data order of every method; ``load_from`` the initial
#: weights.
PROTOCOL_KEYS_IF_CHANGED = {
    'train_dataloader.sampler': dict(type='DefaultSampler', shuffle=True),
    'load_from': None,
}
#: what a method or setting chooses inside those parts: its labels (the
#: partial-label setting) and its extra training views (``MultiView``)
NOT_PROTOCOL = {'train_dataloader.dataset': ('partial_labels', )}
METHOD_TRANSFORMS = ('MultiView', )


def _protocol_part(key: str, value):
    """``value`` of ``key`` without what a method or setting chooses."""
    if hasattr(value, 'to_dict'):
        value = value.to_dict()
    if isinstance(value, dict):
        value = {k: v for k, v in value.items()
                 if k not in NOT_PROTOCOL.get(key, ())}
        if isinstance(value.get('pipeline'), list):
            value['pipeline'] = [
                t for t in value['pipeline']
                if not (isinstance(t, dict)
                        and t.get('type') in METHOD_TRANSFORMS)]
    return value


def parse_options(options: Sequence[str]) -> dict:
    """``key=value`` strings parsed as ``tools/train.py --cfg-options``
    parses them."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={})
    return parser.parse_args(['--cfg-options', *options]
                             if options else []).cfg_options


def _config_value(cfg: Config, key: str):
    """The value of the dotted ``key`` in ``cfg`` (None where absent)."""
    value = cfg
    for name in key.split('.'):
        value = value.get(name) if hasattr(value, 'get') else None
    return value


def protocol_fingerprint(config: str, options: Sequence[str]) -> str:
    """A short hash of the :data:`PROTOCOL_KEYS` of ``config`` with
    ``options`` applied, and of those :data:`PROTOCOL_KEYS_IF_CHANGED`
    that differ from their defaults (the run's seed and run-time options
    do not touch them). ``load_from`` enters as its path, not the file's
    content.

    Args:
        config: Config path, relative to the repository root.
        options: ``--cfg-options`` of the run.

    Returns:
        str: 12 hex digits.
    """
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    cfg.merge_from_dict(parse_options(options))
    parts = {key: _protocol_part(key, _config_value(cfg, key))
             for key in PROTOCOL_KEYS}
    for key, default in PROTOCOL_KEYS_IF_CHANGED.items():
        value = _protocol_part(key, _config_value(cfg, key))
        if value != default:
            parts[key] = value
    text = json.dumps(parts, sort_keys=True, default=repr)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


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


def _latest_by(records: list, key: str) -> list:
    """``records`` in ``key`` order, the last record of each ``key`` value
    kept (a resumed run repeats the steps after its last checkpoint)."""
    return sorted({r[key]: r for r in records}.values(),
                  key=lambda r: r[key])


def summarise(work_dir: str) -> dict:
    """Validation curve (from the scalars files) and diagnostics (from
    ``RegularizerDiagnosticsHook``'s ``diagnostics.jsonl`` beside each) of
    a run; a resumed run's files (one ``<timestamp>`` folder per sitting)
    are joined, the later sitting winning for a repeated step."""
    curve, diagnostics = [], []
    for scalars in find_scalar_files(work_dir):
        curve += [{k: v for k, v in e.items() if '/' in k or k == 'step'}
                  for e in read_scalars(scalars)
                  if any(k.endswith('/mIoU') for k in e)]
        path = osp.join(osp.dirname(osp.dirname(scalars)),
                        'diagnostics.jsonl')
        if osp.isfile(path):
            diagnostics += read_json_lines(path, required=('iter', ))
    return dict(val_curve=_latest_by(curve, 'step'),
                diagnostics=_latest_by(diagnostics, 'iter'))


@contextmanager
def claimed(lock: str) -> Iterator[bool]:
    """Holds ``lock`` (a file naming this process) for the block; yields
    False, holding nothing, when a live process on this host holds it, so
    that two sweeps with overlapping seed lists never train the same run.
    A lock left by a dead process is taken over, with a message."""
    me = f'{socket.gethostname()} {os.getpid()}'
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            with open(lock, encoding='utf-8') as f:
                host, _, pid = f.read().strip().partition(' ')
            if host == socket.gethostname() and pid.isdigit() and \
                    _alive(int(pid)):
                yield False
                return
            print(f'{lock}: taking over from {host} {pid} (not running '
                  'here)', flush=True)
            os.remove(lock)
            continue
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(me + '\n')
        try:
            yield True
        finally:
            os.remove(lock)
        return
    raise RuntimeError(f'{lock}: could not be claimed')


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def git_commit() -> str:
    try:
        return subprocess.run(
            ['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO_ROOT,
            capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        # a copied working tree without .git (a lent GPU machine): the
        # commit it was copied from, when the caller names it
        return os.environ.get('MTLPARTIAL_COMMIT', 'unknown')


def run_device() -> str:
    """Where ``tools/train.py`` trains here: the name of the first GPU
    (mmengine's runner takes it when there is one), or ``'cpu'``."""
    import torch
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return 'cpu'


def run_one(method: str, setting: str, seed: int, args) -> Optional[str]:
    """Train and test one run and write its summary; returns its path
    (None when it already exists or another sweep is running it)."""
    out = osp.join(args.runs, run_key(method, setting), f'seed{seed}.json')
    if osp.isfile(out):
        return None
    os.makedirs(osp.dirname(out), exist_ok=True)
    with claimed(out + '.lock') as mine:
        if not mine:
            print(f'{method:>22} {setting:>8} seed {seed}: run by another '
                  f'sweep ({out}.lock), skipped', flush=True)
            return None
        if osp.isfile(out):  # finished while this sweep waited
            return None
        return _train_and_test(method, setting, seed, out, args)


def write_summary(summary: dict, path: str) -> None:
    """Write a run summary atomically (a cut-off write leaves none)."""
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _train_and_test(method: str, setting: str, seed: int, out: str,
                    args) -> str:
    cfg = config_path(method, setting)
    if not osp.isfile(osp.join(REPO_ROOT, cfg)):
        raise FileNotFoundError(f'{cfg}: no config for method {method!r} '
                                f'and setting {setting!r}')
    work_dir = osp.join(args.work_root, run_key(method, setting),
                        f'seed{seed}')
    os.makedirs(work_dir, exist_ok=True)
    options = [f'randomness.seed={seed}'] + RUNTIME_OPTIONS + \
        list(args.extra_options)
    # float32 everywhere: on a GPU, TF32 off in cuBLAS and cuDNN (torch
    # allows it for convolutions by default), so that a GPU run computes
    # in the precision of a CPU run (its initialisation still differs:
    # see the module docstring)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads), NVIDIA_TF32_OVERRIDE='0')
    # a sitting cut off mid-training left checkpoints: resume exactly
    resume = osp.isfile(osp.join(work_dir, 'last_checkpoint'))
    if resume:
        print(f'{method:>22} {setting:>8} seed {seed}: resuming from the '
              f'last checkpoint in {work_dir}', flush=True)
    with open(osp.join(work_dir, 'run.log'), 'a' if resume else 'w') as log:
        subprocess.run(
            [sys.executable, 'tools/train.py', cfg, '--work-dir', work_dir]
            + (['--resume'] if resume else []) + ['--cfg-options']
            + options, cwd=REPO_ROOT, env=env, check=True,
            stdout=log, stderr=subprocess.STDOUT)
        # from the sittings' logs: a sitting cut off with its sweep wrote
        # nothing more, but its log says how long it ran
        minutes = sum(sitting_minutes(work_dir))
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
        cfg_options=options, commit=git_commit(), device=run_device(),
        protocol=protocol_fingerprint(cfg, options),
        train_minutes=round(minutes, 2), test=test,
        **summarise(work_dir))
    write_summary(summary, out)
    print(f'{method:>22} {setting:>8} seed {seed}: '
          + ' '.join(f'{k} {test[k]:.4g}' for k in results_page.PRIMARY)
          + f' ({minutes:.1f} min)', flush=True)
    return out


def load_runs(folder: str) -> list:
    """The summaries of ``folder``; exits naming the problem when they
    mix protocols or one records none."""
    try:
        return results_page.load_runs(folder)
    except ValueError as e:
        sys.exit(str(e))


def check_protocol(jobs: Sequence[tuple], args) -> str:
    """The protocol of a sweep's jobs, checked before any training: one
    for every (method, setting), and the one of the summaries already in
    ``--runs``."""
    options = RUNTIME_OPTIONS + list(args.extra_options)
    prints = {(m, s): protocol_fingerprint(config_path(m, s), options)
              for m, s in {(m, s) for m, s, _ in jobs}}
    if len(set(prints.values())) > 1:
        listed = ', '.join(f'{m}/{s} {p}'
                           for (m, s), p in sorted(prints.items()))
        sys.exit(f'the configs of this sweep are not one protocol: {listed}')
    mine = next(iter(prints.values()))
    recorded = results_page.protocol_of(load_runs(args.runs), args.runs)
    if recorded not in (None, mine):
        sys.exit(f'{args.runs} holds runs of protocol {recorded}, and this '
                 f'sweep\'s configs and options give {mine}: the protocol '
                 'changed since those runs; move them to an archive folder '
                 'or choose another --runs')
    return mine


def cmd_run(args) -> None:
    jobs = [(m, s, seed) for seed in args.seeds for s in args.settings
            for m in args.methods
            if not (m == 'full' and s != args.settings[0])]
    if jobs:
        print(f'protocol {check_protocol(jobs, args)}', flush=True)
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
    runs = load_runs(args.runs)
    results_page.write_page(runs, args.out, args.figures,
                            ' '.join(sys.argv[1:]))


def cmd_compare(args) -> None:
    runs = load_runs(args.runs)
    try:
        lines = results_page.compare_lines(runs, args.setting, args.method,
                                           args.other, args.split,
                                           args.reference)
    except KeyError as e:
        sys.exit(f'{args.runs}: {e.args[0]}')
    print('\n'.join(lines))


def cmd_headroom(args) -> None:
    runs = load_runs(args.runs)
    try:
        lines = results_page.headroom_lines(runs, args.settings, args.split)
    except KeyError as e:
        sys.exit(f'{args.runs}: {e.args[0]}')
    if not lines:
        sys.exit(f'{args.runs}: no seed with both full-label and '
                 f'{"/".join(args.settings)} supervised runs')
    print('\n'.join(lines))


def cmd_protocol(args) -> None:
    paths = sorted(
        glob.glob(osp.join(args.runs, '*', '*', 'seed*.json')))
    if not paths:
        sys.exit(f'{args.runs}: no summaries')
    counts, differ = {}, 0
    for path in paths:
        with open(path, encoding='utf-8') as f:
            run = json.load(f)
        now = protocol_fingerprint(run['config'], run['cfg_options'])
        recorded = run.get('protocol')
        name = osp.relpath(path, args.runs)
        if recorded is None and args.write:
            run['protocol'] = recorded = now
            write_summary(run, path)
            print(f'{name}: recorded {now}')
        elif recorded is None:
            print(f'{name}: records none; the current configs give {now}')
        elif recorded != now:
            differ += 1
            print(f'{name}: records {recorded}; the current configs give '
                  f'{now}')
        counts[recorded] = counts.get(recorded, 0) + 1
    print('; '.join(f'{p}: {n} summaries' for p, n in counts.items())
          + f'; {differ} differ from the current configs')


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
    compare = sub.add_parser(
        'compare', help='paired comparison of two rows, seed by seed')
    compare.add_argument('method', help='the row compared')
    compare.add_argument('other', nargs='?', default='supervised',
                         help='the row it is compared against')
    compare.add_argument('--setting', default='random',
                         choices=list(SETTINGS))
    compare.add_argument(
        '--reference', default='supervised', choices=('supervised', 'other'),
        help="'supervised': the difference of the two rows' Δ% against "
        "supervised MTL; 'other': Δ% of the row with the other as baseline")
    headroom = sub.add_parser(
        'headroom', help='full labels against partial labels, supervised '
        'MTL: the gap, its seed std and the class IoUs')
    headroom.add_argument('--settings', nargs='+', default=list(SETTINGS),
                          choices=list(SETTINGS))
    for q in (compare, headroom):
        q.add_argument('--split', default='test', choices=('test', 'val'),
                       help="'val' (the last validation) to choose a "
                       'protocol; the test split only reports')
    protocol = sub.add_parser(
        'protocol', help="each summary's protocol fingerprint against the "
        'current configs')
    protocol.add_argument(
        '--write', action='store_true',
        help='record the fingerprint in the summaries that record none '
        '(only when their configs are unchanged since they ran)')
    for q in (run, page, compare, headroom, protocol):
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
    dict(run=cmd_run, page=cmd_page, compare=cmd_compare,
         headroom=cmd_headroom, protocol=cmd_protocol)[args.command](args)


if __name__ == '__main__':
    main()
