# Copyright (c) mtlpartial contributors. All rights reserved.
"""Time per training step and peak memory, as ratios measured in one run.

Modes:

* ``benchmark.py CONFIG``: one config, real batches from its train
  dataloader (cached, so data loading is not timed).
* ``benchmark.py --sweep-k``: K = 2..7 synthetic tasks; supervised MTL,
  MTPSL, JTR, DGR (regularizers on the same model) and DiffusionMTL (its
  own model family on the same backbone) on the same batch; prints each
  method's ratio to supervised MTL. Rounds are interleaved (sup, mtpsl,
  jtr, ..., sup, ...) so that machine drift hits every method alike.
  ``--methods mtpsl_lite jtr_lite`` adds the lite settings.
* ``benchmark.py --balancers``: every gradient/weighting method through
  ``MultiTaskOptimWrapper`` (``EW`` included) as a ratio to the plain
  supervised step (the default wrapper: ``EW``, summed loss, one
  backward) on the same model and batch.
* ``benchmark.py --profile``: where a step's time goes, per method and K,
  from ``torch.profiler``: the model's forward stages (its
  ``record_function`` scopes ``mtl.backbone``, ``mtl.heads``,
  ``mtl.task_losses``, ``mtl.reg.<name>``) and the rest of the step
  (backward and optimizer update), in ms and as a share of the step;
  ``--profile-ops N`` adds the N ops with the most self CPU time.
* ``benchmark.py --dist N`` (``benchmark_dist.py``): N gloo processes on
  the CPU against one at the same per-rank batch, per gradient-sync path
  (torch DDP, the explicit sum).
* ``--variants NAME[@PATH][+K=V] ...`` (``benchmark_variants.py``, with
  ``--sweep-k``, ``--profile`` or ``--balancers``, CPU): code variants
  side by side in one run (another checkout as "before", environment
  settings such as the allocator's), each case in its own process, with
  CPU time, the first steps, kernel share and page faults per step;
  with ``--sweep-k``, ``--balancer-names`` adds those gradient methods
  (both modes, full labels) to the same interleaved rounds, and the lite
  methods run in the last variant only.
``--dtype bf16`` runs every case under mmengine's ``AmpOptimWrapper``
(``MultiTaskAmpOptimWrapper`` for the balancers) with ``dtype='bfloat16'``,
as ``tools/train.py --amp`` does (CUDA only: mmengine's AMP wrappers refuse
a CPU). ``--json PATH`` writes the table's rows (with images/s, the batch
size over the median step time) and the settings to a JSON file.

Peak memory: ``torch.cuda.max_memory_allocated`` on GPU; on CPU each case
runs once more in a fresh subprocess and reports its peak resident size
(``VmHWM``) during two training steps minus its size right after building
the model.

The cases (models, batches, timing) are in ``benchmark_cases.py``.

Examples:
    python tools/analysis_tools/benchmark.py --sweep-k --ks 2 3 4
    python tools/analysis_tools/benchmark.py --sweep-k --arch segnet \\
        --size 288 384 --batch-size 4 --device cuda     # NYUv2 protocol
    python tools/analysis_tools/benchmark.py --balancers
    python tools/analysis_tools/benchmark.py --balancers --gradient-methods \\
        --rep-grad --dtype bf16 --json bal.json
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
from typing import Dict, List

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

sys.path.insert(1, osp.dirname(osp.abspath(__file__)))

import torch  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

import mtlpartial  # noqa: E402,F401
from benchmark_cases import (ARCHS, LITE_METHODS,  # noqa: E402,F401
                             METHODS, build_case, make_batch, make_tasks,
                             measure_memory, memory_case_main, method_cfg,
                             optim_wrapper_cfg, profile_ops, profile_step,
                             rss_now, time_steps, with_dtype)
from mtlpartial.testing import fake_packed_batch, label_pattern  # noqa: E402

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
    if args.variants:
        from benchmark_variants import sweep_variants
        write_json(args, 'sweep_k_variants', sweep_variants(args))
        return
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


def profile_mode(args) -> None:
    if args.variants:
        from benchmark_variants import profile_variants
        profile_variants(args)
        return
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
            if args.profile_ops:
                print('\n| K | method | op (self CPU time, one more step) '
                      '| ms | calls | share |\n|---|---|---|---|---|---|')
                for name, ms, calls, share in profile_ops(
                        model, ow, data, args.profile_ops):
                    print(f'| {k} | {m} | {name} | {ms:.1f} | {calls} | '
                          f'{100 * share:.0f}% |')
                print()


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
    if args.variants:
        from benchmark_variants import balancers_variants
        write_json(args, 'balancers_variants',
                   balancers_variants(args, names))
        return
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
    p.add_argument('--dist', type=int, default=0, metavar='N',
                   help='N gloo processes against 1 (benchmark_dist.py)')
    p.add_argument('--variants', nargs='+', metavar='NAME[@PATH][+K=V]',
                   help='measure these code variants side by side, each '
                   'case in its own process (benchmark_variants.py)')
    p.add_argument('--profile-ops', type=int, default=0, metavar='N',
                   help='--profile: also the N ops with the most self CPU '
                   'time (forward and backward)')
    p.add_argument('--balancer-names', nargs='+')
    p.add_argument('--rep-grad', action='store_true')
    p.add_argument('--gradient-methods', action='store_true',
                   help='--balancers: only the gradient methods')
    p.add_argument('--dtype', default='fp32', choices=['fp32', 'bf16'],
                   help='bf16: AMP optim wrappers with dtype=bfloat16 (CUDA)')
    p.add_argument('--json', help='also write the rows to this JSON file')
    p.add_argument('--ks', nargs='+', type=int, default=[2, 3, 4, 5, 6, 7])
    p.add_argument('--methods', nargs='+', default=list(METHODS),
                   choices=METHODS + LITE_METHODS)
    p.add_argument('--arch', default='small', choices=list(ARCHS))
    p.add_argument('--size', nargs=2, type=int, default=[64, 96],
                   help='H W, divisible by the SegNet stride 32')
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
    if args.dist:
        if args.dist < 2:
            p.error('--dist N needs N >= 2 processes')
        if args.device != 'cpu':
            p.error('--dist runs gloo processes on the CPU: add --device cpu')
        if '--methods' not in sys.argv:
            args.methods = ['supervised']
    elif 'supervised' not in args.methods:
        args.methods = ['supervised'] + args.methods
    if args.variants and args.device != 'cpu':
        p.error('--variants measures on the CPU: add --device cpu')
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
    if args.dist:
        from benchmark_dist import dist_mode
        write_json(args, 'dist', dist_mode(args), world=args.dist)
    elif args.sweep_k:
        sweep_k(args)
    elif args.balancers:
        balancers(args)
    elif args.profile:
        profile_mode(args)
    elif args.config:
        config_mode(args)
    else:
        raise SystemExit('give a CONFIG, --sweep-k, --balancers, '
                         '--profile or --dist N')


if __name__ == '__main__':
    os.environ.setdefault('PYTHONUNBUFFERED', '1')
    main()
