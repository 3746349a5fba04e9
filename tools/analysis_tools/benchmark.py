# Copyright (c) mtlpartial contributors. All rights reserved.
"""Time per training step and peak memory, as ratios measured in one run.

Four modes:

* ``benchmark.py CONFIG``: one config, real batches from its train
  dataloader (cached, so data loading is not timed).
* ``benchmark.py --sweep-k``: K = 2..7 synthetic tasks; supervised MTL,
  MTPSL, JTR, DGR (regularizers on the same model) and DiffusionMTL (its
  own model family on the same backbone) on the same batch; prints each
  method's ratio to supervised MTL. Rounds are interleaved (sup, mtpsl,
  jtr, ..., sup, ...) so that machine drift hits every method alike.
* ``benchmark.py --balancers``: every gradient/weighting method through
  ``MultiTaskOptimWrapper`` (``EW`` included) as a ratio to the plain
  supervised step (the default wrapper: ``EW``, summed loss, one
  backward) on the same model and batch.
* ``benchmark.py --profile``: where a step's time goes, per method and K,
  from ``torch.profiler``: the model's forward stages (its
  ``record_function`` scopes ``mtl.backbone``, ``mtl.heads``,
  ``mtl.task_losses``, ``mtl.reg.<name>``) and the rest of the step
  (backward and optimizer update), in ms and as a share of the step.

``--dtype bf16`` runs every case under mmengine's ``AmpOptimWrapper``
(``MultiTaskAmpOptimWrapper`` for the balancers) with ``dtype='bfloat16'``,
as ``tools/train.py --amp`` does (CUDA only: mmengine's AMP wrappers refuse
a CPU). ``--json PATH`` writes the table's rows (with images/s, the batch
size over the median step time) and the settings to a JSON file.

Peak memory: ``torch.cuda.max_memory_allocated`` on GPU; on CPU each case
runs once more in a fresh subprocess and reports its peak resident size
(``VmHWM``) during two training steps minus its size right after building
the model.

(Over 400 lines: four measurement modes sharing one case builder.)

Examples:
    python tools/analysis_tools/benchmark.py --sweep-k --ks 2 3 4
    python tools/analysis_tools/benchmark.py --sweep-k --arch segnet \\
        --size 288 384 --batch-size 4 --device cuda     # NYUv2 protocol
    python tools/analysis_tools/benchmark.py --balancers
    python tools/analysis_tools/benchmark.py --balancers --gradient-methods \\
        --rep-grad --dtype bf16 --json bal.json
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import sys
import time
from typing import Dict, List, Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

import mtlpartial  # noqa: E402,F401
from mtlpartial.registry import MODELS  # noqa: E402
from mtlpartial.testing import fake_packed_batch, label_pattern  # noqa: E402

#: task kinds cycled to build K synthetic tasks
TASK_POOL = [
    ('semseg', dict(type='SemSegTask', num_classes=13)),
    ('depth', dict(type='DepthTask', stats=(2.3618, 1.5876))),
    ('normal', dict(type='NormalTask')),
    ('edge', dict(type='BinaryTask', pos_weight=0.95, metric='odsF')),
    ('saliency', dict(type='BinaryTask')),
    ('parts', dict(type='SemSegTask', num_classes=7)),
    ('depth2', dict(type='DepthTask', stats=(2.3618, 1.5876))),
]
ARCHS = dict(
    small=dict(filters=(16, 32, 48, 64, 64)),
    segnet=dict(filters=(64, 128, 256, 512, 512)))
METHODS = ('supervised', 'mtpsl', 'jtr', 'dgr', 'diffusionmtl')


def diffusionmtl_cfg(arch: str) -> dict:
    """DiffusionMTL on the sweep's SegNet, as configs/_base_/models/
    diffusionmtl_segnet{_small,}.py (fused at stride 4 / 8)."""
    f = ARCHS[arch]['filters']
    small = arch == 'small'
    e = 32 if small else 512
    return dict(
        type='DiffusionMTL',
        neck=dict(type='MultiScaleFusionNeck', in_channels=[f[-1], f[0]],
                  out_channels=e, ref_index=1,
                  scale_factor=1 / 4 if small else 1 / 8),
        heads=dict(type='PreliminaryHead', in_channels=e),
        diffusion=dict(type='MTDNet', embed_dims=e, head_channels=e,
                       depth=2 if small else 4, num_heads=2 if small else 4,
                       mlp_ratio=2. if small else 4.))


def method_cfg(method: str, arch: str) -> dict:
    """Model overrides of a method: a regularizer (mapping networks get the
    backbone's widths) or a model family (DiffusionMTL)."""
    f = tuple(ARCHS[arch]['filters'])
    if method == 'diffusionmtl':
        return diffusionmtl_cfg(arch)
    reg = dict(
        supervised=None,
        mtpsl=dict(type='MTPSL', channels=f, feat_channels=f[-1]),
        jtr=dict(type='JTR', channels=f),
        dgr=dict(type='DGR'))[method]
    return dict(regularizers=[reg] if reg else [])


def make_tasks(k: int) -> Dict[str, dict]:
    if not 1 <= k <= len(TASK_POOL):
        raise ValueError(f'--ks: K must be in 1..{len(TASK_POOL)}, got {k}')
    return dict(TASK_POOL[:k])


def optim_wrapper_cfg(balancer: dict, rep_grad: bool = False) -> dict:
    return dict(
        type='MultiTaskOptimWrapper',
        constructor='MultiTaskOptimWrapperConstructor',
        optimizer=dict(type='Adam', lr=1e-4),
        balancer=balancer, rep_grad=rep_grad)


#: the AMP counterpart of each optim wrapper (as ``tools/train.py --amp``)
AMP_WRAPPERS = dict(
    OptimWrapper='AmpOptimWrapper',
    MultiTaskOptimWrapper='MultiTaskAmpOptimWrapper')


def with_dtype(optim_wrapper: dict, dtype: str) -> dict:
    """``optim_wrapper`` for ``dtype`` (``'fp32'`` or ``'bf16'``): bf16
    swaps in the AMP wrapper with ``dtype='bfloat16'``."""
    if dtype == 'fp32':
        return optim_wrapper
    if dtype != 'bf16':
        raise ValueError(f'--dtype: expected fp32 or bf16, got {dtype!r}')
    kind = optim_wrapper.get('type', 'OptimWrapper')
    if kind not in AMP_WRAPPERS:
        raise ValueError(f'--dtype bf16: no AMP counterpart of {kind}')
    return dict(optim_wrapper, type=AMP_WRAPPERS[kind], dtype='bfloat16')


def build_case(tasks, model: Optional[dict], arch: str, device: str,
               optim_wrapper: Optional[dict] = None, dtype: str = 'fp32'):
    """Model (the SegNet of ``arch`` with ``model`` overrides, see
    :func:`method_cfg`) and optim wrapper of one case."""
    f = ARCHS[arch]['filters']
    cfg = dict(
        type='MultiTaskModel', tasks=tasks,
        backbone=dict(type='MTANSegNet', filters=f),
        heads=dict(type='ConvHead', in_channels=f[0]))
    cfg.update(copy.deepcopy(model or {}))
    model = MODELS.build(cfg).to(device)
    model.train()
    ow_cfg = optim_wrapper or optim_wrapper_cfg(dict(type='EW'))
    ow = build_optim_wrapper(model, with_dtype(copy.deepcopy(ow_cfg), dtype))
    return model, ow


def rss_now(field: str = 'VmRSS') -> int:
    """Resident set size (``VmRSS``) or its peak (``VmHWM``) in bytes.

    ``VmHWM`` belongs to the address space, so it starts afresh at
    ``exec`` (unlike ``ru_maxrss``, which keeps the forked parent's peak).
    """
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def measure_memory(case: dict, args) -> float:
    """Peak memory (MiB) of training steps beyond the built model.

    GPU: ``max_memory_allocated`` in this process. CPU: a fresh
    subprocess (the allocator keeps freed memory, so in-process peaks are
    meaningless) reports ``ru_maxrss`` after two steps minus its resident
    size right after building the model.
    """
    if args.device.startswith('cuda'):
        model, ow = build_case(case['tasks'], case['model'], args.arch,
                               args.device, case['ow'], args.dtype)
        data = fake_packed_batch(case['tasks'], label_pattern(
            case['tasks'], args.batch_size, case['setting']),
            model.num_views, args.size)
        time_steps(model, ow, data, 1, args.device)
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        time_steps(model, ow, data, 1, args.device)
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    import subprocess
    payload = json.dumps(dict(case, arch=args.arch, size=args.size,
                              batch_size=args.batch_size))
    out = subprocess.run(
        [sys.executable, osp.abspath(__file__), '--memory-case', payload],
        capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def memory_case_main(payload: str) -> None:
    """Child process of :func:`measure_memory` (CPU)."""
    case = json.loads(payload)
    init_default_scope('mtlpartial')
    torch.manual_seed(0)
    model, ow = build_case(case['tasks'], case['model'], case['arch'],
                           'cpu', case['ow'])
    data = fake_packed_batch(case['tasks'], label_pattern(
        case['tasks'], case['batch_size'], case['setting']),
        model.num_views, case['size'])
    base = rss_now()
    time_steps(model, ow, data, 2, 'cpu')
    print((rss_now('VmHWM') - base) / 2**20)


def time_steps(model, ow, data, iters: int, device: str) -> List[float]:
    times = []
    for _ in range(iters):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        model.train_step(data, ow)
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return times


def run_cases(cases: Dict[str, tuple], data_for, args) -> Dict[str, dict]:
    """Build every case, measure memory once each, then time interleaved
    rounds. ``cases``: name -> (tasks, model overrides, optim_wrapper)."""
    built, out = {}, {}
    for name, (tasks, overrides, ow_cfg) in cases.items():
        model, ow = build_case(tasks, overrides, args.arch, args.device,
                               ow_cfg, args.dtype)
        data = data_for(tasks, model.num_views)
        time_steps(model, ow, data, args.warmup, args.device)
        mem = float('nan')
        if not args.no_memory:
            mem = measure_memory(
                dict(tasks=tasks, model=overrides, ow=ow_cfg,
                     setting=data_for.setting), args)
        out[name] = dict(mem=mem, times=[])
        built[name] = (model, ow, data)
    for _ in range(args.rounds):
        for name, (model, ow, data) in built.items():
            out[name]['times'] += time_steps(model, ow, data, args.iters,
                                             args.device)
    for res in out.values():
        res['time'] = statistics.median(res['times'])
        res['images_per_s'] = args.batch_size / res['time']
    return out


def ratio_row(res: dict, base: dict, **keys) -> dict:
    """One JSON row: times in seconds, memory in MiB, ratios to ``base``."""
    return dict(
        keys, time_s=res['time'], time_ratio=res['time'] / base['time'],
        mem_mib=res['mem'], mem_ratio=res['mem'] / max(base['mem'], 1e-9),
        images_per_s=res['images_per_s'])


def write_json(args, mode: str, rows: List[dict], **settings) -> None:
    """``--json``: the rows and the settings they were measured with
    (``settings`` overrides; NaN memory, i.e. ``--no-memory``, is null)."""
    if not args.json:
        return
    rows = [{k: None if isinstance(v, float) and v != v else v
             for k, v in r.items()} for r in rows]
    meta = {k: getattr(args, k) for k in (
        'arch', 'size', 'batch_size', 'device', 'dtype', 'setting',
        'rep_grad', 'ks', 'iters', 'rounds', 'warmup')}
    meta.update(settings)
    with open(args.json, 'w') as f:
        json.dump(dict(mode=mode, settings=meta, rows=rows), f, indent=1)


def sweep_k(args) -> None:
    h, w = args.size
    print(f'# K sweep: arch={args.arch}, {h}x{w}, batch {args.batch_size}, '
          f'device {args.device}, {args.dtype}, {args.setting}; median step '
          'time, ratio to supervised MTL measured in the same run\n')
    print('| K | method | step (ms) | x supervised | peak mem (MiB) '
          '| x supervised | images/s |')
    print('|---|---|---|---|---|---|---|')
    rows = []
    for k in args.ks:
        tasks = make_tasks(k)
        cases = {m: (tasks, method_cfg(m, args.arch), None)
                 for m in args.methods}

        def data_for(tasks, views):
            return fake_packed_batch(tasks, label_pattern(
                tasks, args.batch_size, args.setting), views, (h, w))

        data_for.setting = args.setting

        res = run_cases(cases, data_for, args)
        base = res['supervised']
        for m in args.methods:
            r = res[m]
            rows.append(ratio_row(r, base, k=k, method=m))
            print(f'| {k} | {m} | {r["time"] * 1e3:.1f} | '
                  f'{r["time"] / base["time"]:.2f} | {r["mem"]:.0f} | '
                  f'{r["mem"] / max(base["mem"], 1e-9):.2f} | '
                  f'{r["images_per_s"]:.1f} |', flush=True)
    write_json(args, 'sweep_k', rows)


def profile_step(model, ow, data, device: str) -> Dict[str, float]:
    """Milliseconds per forward stage of one profiled training step, and
    ``'backward+update'`` for the rest of the step."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU]
    if device.startswith('cuda'):
        activities.append(ProfilerActivity.CUDA)
        torch.cuda.synchronize()
    with profile(activities=activities) as prof:
        t0 = time.perf_counter()
        model.train_step(data, ow)
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        total = (time.perf_counter() - t0) * 1e3
    attr = 'device_time_total' if device.startswith('cuda') else \
        'cpu_time_total'
    stages = {
        e.key: getattr(e, attr) / 1e3
        for e in prof.key_averages() if e.key.startswith('mtl.')
    }
    if device.startswith('cuda'):  # GPU time of the stages, wall total
        stages['total (wall)'] = total
    else:
        stages['backward+update'] = total - sum(stages.values())
        stages['total'] = total
    return stages


def profile_mode(args) -> None:
    h, w = args.size
    print(f'# profile: arch={args.arch}, {h}x{w}, batch {args.batch_size}, '
          f'{args.setting}, {args.device}; one step after '
          f'{args.warmup} warm-up steps (ms, share of the step)\n')
    print('| K | method | stage | ms | share |')
    print('|---|---|---|---|---|')
    for k in args.ks:
        tasks = make_tasks(k)
        for m in args.methods:
            model, ow = build_case(tasks, method_cfg(m, args.arch),
                                   args.arch, args.device, dtype=args.dtype)
            data = fake_packed_batch(tasks, label_pattern(
                tasks, args.batch_size, args.setting), model.num_views, (h, w))
            time_steps(model, ow, data, args.warmup, args.device)
            stages = profile_step(model, ow, data, args.device)
            total = stages.get('total', stages.get('total (wall)'))
            for name, ms in sorted(stages.items(), key=lambda x: -x[1]):
                if name.startswith('total'):
                    continue
                print(f'| {k} | {m} | {name} | {ms:.1f} | '
                      f'{100 * ms / total:.0f}% |', flush=True)
            print(f'| {k} | {m} | **step** | {total:.1f} | 100% |')


def balancer_cfg(name: str) -> dict:
    # outside a runner there is no epoch: DWA averages loss ratios over
    # windows of calls instead
    return dict(type=name, window=1) if name == 'DWA' else dict(type=name)


def balancers(args) -> None:
    import mtlpartial.engine.balancers  # noqa: F401  (fills the registry)
    from mtlpartial.registry import BALANCERS
    h, w = args.size
    tasks = make_tasks(args.ks[0])
    names = args.balancer_names or sorted(BALANCERS.module_dict)
    if args.gradient_methods:
        from mtlpartial.engine.balancers.base_balancer import \
            BaseGradientBalancer
        names = [n for n in names
                 if issubclass(BALANCERS.get(n), BaseGradientBalancer)]
    cases = {'plain': (tasks, None, None)}
    for name in names:
        cases[name] = (tasks, None, optim_wrapper_cfg(
            balancer_cfg(name), args.rep_grad))

    def data_for(tasks, views):
        return fake_packed_batch(tasks, label_pattern(
            tasks, args.batch_size, 'full'), views, (h, w))

    data_for.setting = 'full'

    res = run_cases(cases, data_for, args)
    base = res['plain']
    print(f'# balancers: K={args.ks[0]}, arch={args.arch}, {h}x{w}, batch '
          f'{args.batch_size}, rep_grad={args.rep_grad}, {args.device}, '
          f'{args.dtype}\n')
    print('| method | step (ms) | x plain | peak mem (MiB) | x plain '
          '| images/s |')
    print('|---|---|---|---|---|---|')
    rows = []
    for name, r in res.items():
        rows.append(ratio_row(r, base, k=args.ks[0], method=name))
        print(f'| {name} | {r["time"] * 1e3:.1f} | '
              f'{r["time"] / base["time"]:.2f} | {r["mem"]:.0f} | '
              f'{r["mem"] / max(base["mem"], 1e-9):.2f} | '
              f'{r["images_per_s"]:.1f} |', flush=True)
    write_json(args, 'balancers', rows, setting='full')


def config_mode(args) -> None:
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(args.config)
    cfg.work_dir = cfg.get('work_dir') or osp.join(
        '/tmp', 'mtlpartial_bench', osp.splitext(osp.basename(
            args.config))[0])
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    runner = Runner.from_cfg(cfg)
    model = runner.model.to(args.device)
    ow = runner.build_optim_wrapper(with_dtype(cfg.optim_wrapper, args.dtype))
    data = next(iter(runner.build_dataloader(cfg.train_dataloader)))
    time_steps(model, ow, data, args.warmup, args.device)
    base = torch.cuda.memory_allocated() if args.device.startswith(
        'cuda') else rss_now()
    if args.device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    times = time_steps(model, ow, data, args.iters * args.rounds,
                       args.device)
    if args.device.startswith('cuda'):
        mem = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:  # upper bound: process peak minus RSS before the timed steps
        mem = (rss_now('VmHWM') - base) / 2**20
    t = statistics.median(times)
    b = len(data['inputs'])
    print(f'{args.config}: {t * 1e3:.1f} ms/iter (median of {len(times)}), '
          f'{b / t:.1f} images/s, peak memory {mem:.0f} MiB '
          f'({args.device})')


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', nargs='?', help='config to benchmark')
    p.add_argument('--sweep-k', action='store_true')
    p.add_argument('--balancers', action='store_true')
    p.add_argument('--profile', action='store_true')
    p.add_argument('--balancer-names', nargs='+')
    p.add_argument('--rep-grad', action='store_true')
    p.add_argument('--gradient-methods', action='store_true',
                   help='--balancers: only the gradient methods')
    p.add_argument('--dtype', default='fp32', choices=['fp32', 'bf16'],
                   help='bf16: AMP optim wrappers with dtype=bfloat16 (CUDA)')
    p.add_argument('--json', help='also write the rows to this JSON file')
    p.add_argument('--ks', nargs='+', type=int, default=[2, 3, 4, 5, 6, 7])
    p.add_argument('--methods', nargs='+', default=list(METHODS),
                   choices=METHODS)
    p.add_argument('--arch', default='small', choices=list(ARCHS))
    p.add_argument('--size', nargs=2, type=int, default=[64, 80])
    p.add_argument('--batch-size', type=int, default=4)
    p.add_argument('--setting', default='onelabel',
                   choices=['onelabel', 'full'])
    p.add_argument('--iters', type=int, default=3)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--no-memory', action='store_true',
                   help='skip the peak-memory measurement')
    p.add_argument('--memory-case', help=argparse.SUPPRESS)
    args = p.parse_args()
    if 'supervised' not in args.methods:
        args.methods = ['supervised'] + args.methods
    if args.dtype == 'bf16' and not args.device.startswith('cuda'):
        p.error('--dtype bf16 needs --device cuda: mmengine\'s AMP optim '
                'wrappers refuse to run on a CPU')
    return args


def main() -> None:
    args = parse_args()
    if args.memory_case:
        memory_case_main(args.memory_case)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    init_default_scope('mtlpartial')
    torch.manual_seed(0)
    if args.sweep_k:
        sweep_k(args)
    elif args.balancers:
        balancers(args)
    elif args.profile:
        profile_mode(args)
    elif args.config:
        config_mode(args)
    else:
        raise SystemExit('give a CONFIG, --sweep-k, --balancers or '
                         '--profile')


if __name__ == '__main__':
    os.environ.setdefault('PYTHONUNBUFFERED', '1')
    main()
