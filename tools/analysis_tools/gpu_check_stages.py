# Copyright (c) mtlpartial contributors. All rights reserved.
"""The stages of ``tools/analysis_tools/gpu_check.py`` (see its docstring):
sizes of the GPU and dry-run profiles, the shared :class:`Context` (paths,
the children's environment, a process-group runner with a timeout, the
results), and one function per stage, ``(ctx, timeout) -> (status, note)``.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import signal
import subprocess
import sys
import time
from typing import Callable, List, NamedTuple, Tuple

from gpu_check_report import excerpt, tagged_json, train_results

HERE = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(osp.dirname(HERE))
GPU_CHECK = osp.join(HERE, 'gpu_check.py')

PROFILES = dict(
    gpu=dict(n_train=32, n_val=8, size=(288, 384), batch=4, iters=200,
             workers=4, log_interval=10, arch='segnet',
             bench=['--iters', '5', '--rounds', '3', '--warmup', '3']),
    dry=dict(n_train=4, n_val=2, size=(32, 64), batch=2, iters=2,
             workers=0, log_interval=1, arch='small',
             bench=['--iters', '1', '--rounds', '1', '--warmup', '1',
                    '--no-memory'],
             # two gradient methods (MGDA: Gramian-based, DBMTL: not) keep
             # the test short; --gradient-methods must drop EW
             balancers=['--balancer-names', 'MGDA', 'DBMTL', 'EW']))
TRAIN_CONFIGS = dict(jtr='configs/jtr/nyuv2_random.py',
                     dgr='configs/dgr/nyuv2_random.py')
#: dry run: paper-size models are too slow and their checkpoints too big
#: for a CPU test; same configs, narrow networks
DRY_MODELS = dict(
    jtr=['model.backbone.filters=[8,8,8,8,8]', 'model.heads.in_channels=8',
         'model.regularizers.0.channels=[8,8,8,8,8]'],
    dgr=['model.backbone.depth=18', 'model.backbone.base_channels=8',
         'model.backbone.stem_channels=8', 'model.heads.in_channels=64',
         'model.heads.channels=8'])
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
NO_BF16 = 'dry run: bf16 needs CUDA (mmengine\'s AMP wrappers refuse a CPU)'


class Stage(NamedTuple):
    name: str
    budget: float  # at most this many seconds
    min_s: float  # skipped with less; reserved while earlier stages run
    run: Callable  # (ctx, timeout) -> (status, note)
    needs: Tuple[str, ...] = ()
    disabled: str = ''  # reason, when the stage does not run at all


class Context:
    """What the stages share: options, paths, child environment, results."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.dry = args.dry_run
        self.profile = PROFILES['dry' if self.dry else 'gpu']
        self.work = args.work_dir
        self.data_root = osp.join(self.work, 'data', 'nyuv2')
        self.logs = osp.join(self.work, 'logs')
        os.makedirs(self.logs, exist_ok=True)
        self.env = dict(os.environ, PYTHONUNBUFFERED='1')
        self.env['PYTHONPATH'] = os.pathsep.join(
            p for p in (REPO_ROOT, os.environ.get('PYTHONPATH')) if p)
        if self.dry:
            self.env['CUDA_VISIBLE_DEVICES'] = ''
        self.report = dict(environment={}, training={}, benchmarks={},
                           syncbn=None)

    def call(self, name: str, cmd: List[str], timeout: float) -> tuple:
        """Run ``cmd`` in its own process group, output to ``logs/name``;
        returns (status, log text)."""
        log_path = osp.join(self.logs, f'{name}.log')
        with open(log_path, 'w') as log:
            log.write('$ ' + ' '.join(cmd) + '\n')
            log.flush()
            proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=self.env,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                rc = None
            finally:  # the whole group: dataloader workers too
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        with open(log_path) as f:
            text = f.read()
        return ('timeout' if rc is None else 'ok' if rc == 0 else
                'failed'), text


def importable(ctx: Context, module: str) -> bool:
    return subprocess.run([sys.executable, '-c', f'import {module}'],
                          env=ctx.env, capture_output=True).returncode == 0


# ------------------------------------------------------------------ stages
def stage_install(ctx: Context, timeout: float) -> tuple:
    wheels = sorted(glob.glob(osp.join(ctx.args.wheels, '*.whl')))
    if not wheels:
        if importable(ctx, 'mmengine, mmcv, mmseg'):
            return 'skipped', (f'no wheels in {ctx.args.wheels}; the '
                               'toolkit is importable already')
        return 'failed', (f'no wheels in {ctx.args.wheels} and mmengine/'
                          'mmcv/mmseg are not importable: run tools/'
                          'analysis_tools/gpu_wheels.sh and carry .whl')
    if importable(ctx, 'pkg_resources'):
        wheels = [w for w in wheels
                  if not osp.basename(w).startswith('setuptools-')]
    site = ctx.args.site_dir
    status, text = ctx.call('install', [
        sys.executable, '-m', 'pip', 'install', '-q', '--no-index',
        '--no-deps', '--no-compile', '--no-cache-dir', '--upgrade',
        '--target', site, *wheels], timeout)
    if status == 'ok':
        ctx.env['PYTHONPATH'] = site + os.pathsep + ctx.env['PYTHONPATH']
        sys.path.insert(0, site)
        return status, f'{len(wheels)} wheels into {site}'
    return status, excerpt(text)


def stage_env(ctx: Context, timeout: float) -> tuple:
    status, text = ctx.call(
        'env', [sys.executable, GPU_CHECK, '--collect-env'],
        timeout)
    if status != 'ok':
        return status, excerpt(text)
    env = ctx.report['environment'] = tagged_json(text, 'ENV')
    if not ctx.dry and not env['cuda_available']:
        return 'failed', 'no CUDA device visible to torch'
    if not env['distutils']:
        return 'failed', ('no distutils (mmengine\'s Runner imports it): '
                          'install setuptools with its distutils shim')
    return 'ok', env['device']


def stage_data(ctx: Context, timeout: float) -> tuple:
    # in this process (seconds of numpy); by path: the mmsegmentation wheel
    # installs a top-level ``tests`` package, which shadows this
    # repository's once SITE is on sys.path
    import importlib.util
    spec = importlib.util.spec_from_file_location('fake_datasets', osp.join(
        REPO_ROOT, 'tests', 'utils', 'fake_datasets.py'))
    fake = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fake)
    p = ctx.profile
    fake.write_fake_nyuv2(ctx.data_root, n_train=p['n_train'],
                          n_val=p['n_val'], h=p['size'][0], w=p['size'][1])
    return 'ok', (f'{p["n_train"]} train / {p["n_val"]} val images at '
                  f'{p["size"][0]}x{p["size"][1]} in {ctx.data_root}')


def data_options(ctx: Context, method: str) -> List[str]:
    p = ctx.profile
    opts = ['train_dataloader.dataset.partial_labels=randomlabels',
            f'train_dataloader.batch_size={p["batch"]}']
    for loader in LOADERS:
        opts += [f'{loader}.dataset.data_root={ctx.data_root}',
                 f'{loader}.num_workers={p["workers"]}',
                 f'{loader}.persistent_workers={p["workers"] > 0}']
    return opts + (DRY_MODELS[method] if ctx.dry else [])


def stage_syncbn(ctx: Context, timeout: float) -> tuple:
    cmd = [sys.executable, osp.join(HERE, 'syncbn_smoke.py'),
           TRAIN_CONFIGS['dgr'], '--work-dir',
           osp.join(ctx.work, 'syncbn'), '--cfg-options',
           *data_options(ctx, 'dgr')]
    status, text = ctx.call('syncbn', cmd, timeout)
    if 'SYNCBN_RESULT ' in text:  # printed before a failed check exits
        ctx.report['syncbn'] = tagged_json(text, 'SYNCBN_RESULT')
    if status != 'ok':
        return status, excerpt(text)
    res = ctx.report['syncbn']
    return 'ok', (f'{res["syncbn_modules"]} SyncBatchNorm, {res["backend"]}'
                  + (', reverted for the CPU step'
                     if res['reverted_for_cpu'] else ''))


def train_once(ctx: Context, method: str, bf16: bool,
               timeout: float) -> tuple:
    """``tools/train.py`` on the method's config; returns (status, note,
    results, non-finite: whether a loss, parameter or gradient was)."""
    p = ctx.profile
    epochs = max(1, math.ceil(p['iters'] / (p['n_train'] // p['batch'])))
    name = f'train_{method}' + ('' if bf16 or ctx.dry else '_fp32')
    work = osp.join(ctx.work, name)
    cmd = [sys.executable, 'tools/train.py', TRAIN_CONFIGS[method],
           '--work-dir', work, *(['--amp'] if bf16 else []),
           '--cfg-options', *data_options(ctx, method),
           f'train_cfg.max_epochs={epochs}',
           f'train_cfg.val_interval={epochs}',
           f'default_hooks.checkpoint.interval={epochs}',
           f'default_hooks.logger.interval={p["log_interval"]}',
           *(['optim_wrapper.dtype=bfloat16'] if bf16 else [])]
    status, text = ctx.call(name, cmd, timeout)
    res = dict(config=TRAIN_CONFIGS[method], dtype='bf16' if bf16 else
               'fp32', finite=False)
    if status != 'ok':  # the model stops a run on a non-finite loss
        return status, excerpt(text), res, 'Non-finite' in text
    res.update(train_results(work, p['batch']))
    bad = [] if res['finite'] else ['a non-finite loss or parameter']
    if res.get('amp_skipped_steps'):
        bad.append(f'{res["amp_skipped_steps"]} steps skipped by the '
                   'loss scaler (non-finite gradients)')
        res['finite'] = False
    if bad:
        return 'failed', '; '.join(bad), res, True
    return 'ok', (f'{res["iters"]} iters, loss {res["first_loss"]:.3f} -> '
                  f'{res["last_loss"]:.3f}'), res, False


def train_stage(method: str) -> Callable:
    """bf16 on a GPU (fp32 in a dry run). When bf16 goes non-finite, the
    same run in fp32 (within the stage's time) tells whether bf16 or the
    schedule on fake data is the cause."""
    def run(ctx: Context, timeout: float) -> tuple:
        t0 = time.monotonic()
        bf16 = not ctx.dry
        status, note, res, nonfinite = train_once(ctx, method, bf16,
                                                  timeout)
        ctx.report['training'][method] = res
        if not (bf16 and nonfinite):
            return status, note
        left = timeout - (time.monotonic() - t0)
        if left < 20:
            return status, note + '; no time left for an fp32 rerun'
        status32, note32, res32, _ = train_once(ctx, method, False, left)
        ctx.report['training'][f'{method}_fp32'] = res32
        return 'failed', f'{note}; fp32 rerun: {status32}, {note32}'

    return run


def bench_stage(key: str, mode: List[str], dtype: str) -> Callable:
    def run(ctx: Context, timeout: float) -> tuple:
        p = ctx.profile
        out = osp.join(ctx.work, f'{key}.json')
        extra = p.get('balancers', []) if '--balancers' in mode else []
        cmd = [sys.executable, 'tools/analysis_tools/benchmark.py', *mode,
               *extra,
               '--arch', p['arch'], '--size', *map(str, p['size']),
               '--batch-size', str(p['batch']), '--dtype', dtype,
               '--device', 'cpu' if ctx.dry else 'cuda', '--json', out,
               *p['bench']]
        status, text = ctx.call(key, cmd, timeout)
        if status != 'ok':
            return status, excerpt(text)
        with open(out) as f:
            ctx.report['benchmarks'][key] = json.load(f)
        rows = ctx.report['benchmarks'][key]['rows']
        return 'ok', f'{len(rows)} rows' + (
            ' (no memory in a dry run)' if ctx.dry else '')

    return run


def build_stages(args: argparse.Namespace) -> List[Stage]:
    bf16 = NO_BF16 if args.dry_run else ''
    prep = ('env', 'data')
    methods = ['--sweep-k', '--ks', '3', '--setting', 'onelabel']
    grads = ['--balancers', '--gradient-methods', '--ks', '3']
    stages = [
        Stage('install', 90, 10, stage_install, disabled='dry run: uses '
              'the packages installed here' if args.dry_run else ''),
        Stage('env', 60, 10, stage_env),
        Stage('data', 60, 5, stage_data),
        Stage('syncbn', 90, 30, stage_syncbn, prep),
        Stage('train_jtr', 150, 40, train_stage('jtr'), prep),
        Stage('train_dgr', 150, 40, train_stage('dgr'), prep),
        Stage('methods_fp32', 90, 25, bench_stage(
            'methods_fp32', methods, 'fp32'), prep),
        Stage('methods_bf16', 90, 25, bench_stage(
            'methods_bf16', methods, 'bf16'), prep, bf16),
        Stage('grad_param_fp32', 75, 20, bench_stage(
            'grad_param_fp32', grads, 'fp32'), prep),
        Stage('grad_rep_fp32', 75, 20, bench_stage(
            'grad_rep_fp32', grads + ['--rep-grad'], 'fp32'), prep,
            'dry run: grad_param_fp32 with --rep-grad' if args.dry_run
            else ''),
        Stage('grad_param_bf16', 75, 20, bench_stage(
            'grad_param_bf16', grads, 'bf16'), prep, bf16),
        Stage('grad_rep_bf16', 75, 20, bench_stage(
            'grad_rep_bf16', grads + ['--rep-grad'], 'bf16'), prep, bf16),
        Stage('k_sweep', 150, 60, bench_stage(
            'k_sweep', ['--sweep-k', '--ks', *map(str, range(2, 8))],
            'fp32'), prep, '' if args.k_sweep else 'pass --k-sweep'),
    ]
    return select_stages(stages, getattr(args, 'only', None))


def select_stages(stages: List[Stage], only: List[str] = None) -> List[Stage]:
    """Disable every stage that is neither in ``only`` nor needed by one
    in it (``install`` always runs); all of them when ``only`` is empty."""
    if not only:
        return stages
    names = [s.name for s in stages]
    unknown = sorted(set(only) - set(names))
    if unknown:
        raise ValueError(f'--only: unknown stage(s) {unknown}; the stages '
                         f'are {names}')
    keep = {'install', *only}
    keep.update(n for s in stages if s.name in only for n in s.needs)
    return [s if s.name in keep or s.disabled
            else s._replace(disabled='not in --only') for s in stages]
