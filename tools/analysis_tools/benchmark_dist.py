# Copyright (c) mtlpartial contributors. All rights reserved.
"""``benchmark.py --dist N``: the step time of N gloo processes on the CPU
as a ratio to one process at the same per-rank batch (weak scaling: 1.00
means the gradient sum costs nothing), for each gradient-sync path, in one
run.

Each (variant, case, world size) is a :class:`~benchmark_variants.
WorkerGroup` (rank r gets the onelabel pattern shifted by r·batch, so the
ranks' labelled tasks differ); rounds are interleaved over all groups, one
group at a time. A step's time is that of the slowest rank; its CPU
time (user + kernel of that rank's process) is the figure to read when
the ranks share fewer free cores than there are processes. Variants
(``--variants``, default ``explicit+BENCH_WRAPPER=none ddp``):

* ``ddp``: the default model wrapper of this checkout
  (``MultiTaskDistributedWrapper``: torch DDP, bucketed all-reduce
  overlapped with the backward);
* ``explicit+BENCH_WRAPPER=none``: no model wrapper, so the optim wrapper
  sums every gradient after the backward (the explicit path);
* ``explicit@/tmp/mtlpartial_base``: the default wrapper of an older
  checkout (before issue 14: broadcast-only wrapper, one flat all-reduce of
  all gradients after the backward).
"""
import sys
from typing import Dict, List

from benchmark_cases import (make_tasks, method_cfg,  # noqa: F401
                             optim_wrapper_cfg)
from benchmark_variants import Variant, run_interleaved

DEFAULT_VARIANTS = ('explicit+BENCH_WRAPPER=none', 'ddp')
WRAPPER = dict(type='MultiTaskDistributedWrapper')


def dist_cases(args) -> Dict[str, tuple]:
    """``label -> (tasks, model overrides, optim wrapper)`` of the run."""
    tasks = make_tasks(args.ks[0])
    cases = {}
    for m in args.methods:
        cases[m] = (tasks, method_cfg(m, args.arch), None)
    for name in args.balancer_names or []:
        cases[name + (' (rep)' if args.rep_grad else '')] = (
            tasks, None, optim_wrapper_cfg(dict(type=name), args.rep_grad))
    return cases


def dist_mode(args) -> List[dict]:
    variants = [Variant(v) for v in (args.variants or DEFAULT_VARIANTS)]
    world = args.dist
    h, w = args.size
    cases, worlds = {}, {}
    for label, (tasks, model, ow) in dist_cases(args).items():
        for v in variants:
            for n in (1, world):
                key = f'{v.name}|{label}|{n}'
                wrapper = None if v.env.get('BENCH_WRAPPER') == 'none' \
                    else WRAPPER
                cases[key] = dict(
                    variant=v, tasks=tasks, model=model,
                    ow=ow or optim_wrapper_cfg(dict(type='EW')),
                    arch=args.arch, size=[h, w], batch_size=args.batch_size,
                    setting=args.setting, wrapper=wrapper)
                worlds[key] = n
    res = run_interleaved(cases, args, worlds)
    print(f'# {world} gloo processes vs 1 process, per-rank batch '
          f'{args.batch_size}: arch={args.arch}, {h}x{w}, K={args.ks[0]}, '
          f'{args.setting}, {args.threads or 1} thread(s) per process; '
          'median step of the slowest rank, rounds interleaved\n')
    print(f'| case | path | 1 process (ms) | {world} processes (ms) | '
          f'x 1 process | CPU, 1 process (ms) | CPU, {world} processes (ms) '
          f'| CPU x 1 process | kernel CPU share ({world} proc.) |')
    print('|---|---|---|---|---|---|---|---|---|')
    rows = []
    for label in dist_cases(args):
        for v in variants:
            one = res[f'{v.name}|{label}|1']
            many = res[f'{v.name}|{label}|{world}']
            ratio = many['time'] / one['time']
            cpu_ratio = many['cpu'] / one['cpu']
            rows.append(dict(case=label, path=v.name, world=world,
                             time_1=one['time'], time_n=many['time'],
                             ratio=ratio, cpu_1=one['cpu'],
                             cpu_n=many['cpu'], cpu_ratio=cpu_ratio,
                             sys_share_n=many['sys_share']))
            print(f'| {label} | {v.name} | {one["time"] * 1e3:.0f} | '
                  f'{many["time"] * 1e3:.0f} | {ratio:.2f} | '
                  f'{one["cpu"] * 1e3:.0f} | {many["cpu"] * 1e3:.0f} | '
                  f'{cpu_ratio:.2f} | {100 * many["sys_share"]:.0f}% |',
                  flush=True)
    return rows


if __name__ == '__main__':  # pragma: no cover - use benchmark.py --dist
    sys.exit('run benchmark.py --dist N')
