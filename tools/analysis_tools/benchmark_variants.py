# Copyright (c) mtlpartial contributors. All rights reserved.
"""Code variants measured side by side in one run (``benchmark.py
--variants``), each case in its own worker process(es).

A variant is ``NAME[@PATH][+KEY=VALUE...]``: the checkout at ``PATH``
(default: this one) with extra environment variables, e.g.

* ``before@/tmp/mtlpartial_base after``: a before/after table of two
  commits (``git archive <commit> | tar -x -C /tmp/mtlpartial_base``);
* ``after after-thp+GLIBC_TUNABLES=glibc.malloc.hugetlb=1``: the same code
  under another allocator setting.

Every (variant, case) runs in a :class:`WorkerGroup` of its own (one
process, or ``world`` gloo processes for ``benchmark_dist.py``); rounds
are interleaved over all of them, one group at a time, so machine drift
hits every variant alike. Ratios are taken within a variant (to its own
supervised step) and across variants (after / before).
"""
import json
import os
import os.path as osp
import socket
import statistics
import subprocess
import sys
from typing import Dict, List, Optional

HERE = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(osp.dirname(HERE))


class Variant:
    """``NAME[@PATH][+KEY=VALUE...]`` (see the module docstring)."""

    def __init__(self, spec: str) -> None:
        head, *env = spec.split('+')
        name, _, path = head.partition('@')
        if not name:
            raise ValueError(f'--variants: empty name in {spec!r}')
        self.name = name
        self.path = osp.abspath(path) if path else REPO_ROOT
        if not osp.isdir(osp.join(self.path, 'mtlpartial')):
            raise ValueError(f'--variants {spec!r}: no mtlpartial package '
                             f'in {self.path}')
        self.env = {}
        for item in env:
            key, sep, value = item.partition('=')
            if not sep:
                raise ValueError(f'--variants {spec!r}: expected KEY=VALUE '
                                 f'after "+", got {item!r}')
            self.env[key] = value

    def __repr__(self) -> str:
        return self.name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class WorkerGroup:
    """``world`` worker processes of one variant running one case."""

    def __init__(self, variant: Variant, world: int = 1,
                 threads: int = 1) -> None:
        self.variant = variant
        self.world = world
        port = str(free_port())
        self.procs = []
        for rank in range(world):
            env = dict(os.environ, **variant.env)
            env.pop('PYTHONPATH', None)
            env.update(BENCH_THREADS=str(threads), OMP_NUM_THREADS=str(
                threads), MKL_NUM_THREADS=str(threads), PYTHONUNBUFFERED='1')
            if world > 1:
                env.update(RANK=str(rank), LOCAL_RANK=str(rank),
                           WORLD_SIZE=str(world), MASTER_ADDR='127.0.0.1',
                           MASTER_PORT=port)
            self.procs.append(subprocess.Popen(
                [sys.executable, osp.join(HERE, 'benchmark_worker.py'),
                 variant.path], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT))

    def ask(self, cmd: dict) -> List[dict]:
        """Send ``cmd`` to every rank; their answers in rank order."""
        for p in self.procs:
            p.stdin.write(json.dumps(cmd) + '\n')
            p.stdin.flush()
        return [self._read(p) for p in self.procs]

    def _read(self, proc) -> dict:
        for line in proc.stdout:
            if line.startswith('BENCH '):
                return json.loads(line[6:])
        raise RuntimeError(f'benchmark worker of {self.variant} exited '
                           f'with {proc.wait()} (see its stderr above)')

    def close(self) -> None:
        for p in self.procs:
            try:
                p.stdin.write(json.dumps(dict(cmd='exit')) + '\n')
                p.stdin.close()
            except (BrokenPipeError, ValueError):
                pass
        for p in self.procs:
            p.wait(timeout=60)


def slowest_rank(answers: List[dict]) -> List[dict]:
    """Per step, the figures of the rank that took longest."""
    return [max(steps, key=lambda s: s['time'])
            for steps in zip(*[a['steps'] for a in answers])]


def run_interleaved(cases: Dict[str, dict], args,
                    worlds: Optional[Dict[str, int]] = None
                    ) -> Dict[str, dict]:
    """Build every case (``name -> case dict`` with a ``variant``) in its
    worker group, then time ``args.rounds`` interleaved rounds of
    ``args.iters`` steps. Returns per case: ``mem`` (MiB, rank 0),
    ``first`` (the warm-up steps), ``steps`` (the timed steps) and the
    medians ``time`` (wall), ``cpu`` (user + kernel CPU time of the
    process: with one thread, the step's time without the waits for a
    core when other jobs share the machine), ``sys_share`` (kernel over
    all CPU time) and ``faults`` (minor page faults per step)."""
    groups, out = {}, {}
    try:
        for name, case in cases.items():
            world = (worlds or {}).get(name, 1)
            group = WorkerGroup(case['variant'], world, args.threads or 1)
            groups[name] = group
            payload = {k: v for k, v in case.items() if k != 'variant'}
            answers = group.ask(dict(cmd='build', case=payload,
                                     warmup=max(2, args.warmup)))
            out[name] = dict(mem=answers[0]['mem'],
                             first=slowest_rank(answers), steps=[])
            print(f'# built {name} ({case["variant"]}, world {world}): '
                  'first steps ' + ', '.join(
                      f'{s["time"]:.2f}' for s in out[name]['first']) +
                  ' s wall, ' + ', '.join(
                      f'{s["user"] + s["sys"]:.2f}'
                      for s in out[name]['first']) + ' s CPU, '
                  f'{out[name]["mem"]:.0f} MiB', file=sys.stderr, flush=True)
        for r in range(args.rounds):
            for name, group in groups.items():
                answers = group.ask(dict(cmd='time', iters=args.iters))
                out[name]['steps'] += slowest_rank(answers)
                print(f'# round {r + 1} {name}: ' + ', '.join(
                    f'{s["time"]:.2f} s wall, {s["user"] + s["sys"]:.2f} s '
                    f'CPU' for s in out[name]['steps'][-args.iters:]),
                    file=sys.stderr, flush=True)
        if getattr(args, 'profile', False):
            for name, group in groups.items():
                out[name]['stages'] = group.ask(dict(cmd='profile'))[0][
                    'stages']
    finally:
        for group in groups.values():
            group.close()
    for res in out.values():
        steps = res['steps']
        res['time'] = statistics.median(s['time'] for s in steps)
        res['cpu'] = statistics.median(s['user'] + s['sys'] for s in steps)
        res['sys_share'] = statistics.median(
            s['sys'] / max(s['user'] + s['sys'], 1e-9) for s in steps)
        res['faults'] = statistics.median(s['faults'] for s in steps)
        res['images_per_s'] = args.batch_size / res['time']
    return out


def variant_case(v: Variant, tasks: dict, model: dict, args,
                 ow: Optional[dict] = None) -> dict:
    from benchmark_cases import optim_wrapper_cfg
    h, w = args.size
    return dict(variant=v, tasks=tasks, model=model,
                ow=ow or optim_wrapper_cfg(dict(type='EW')), arch=args.arch,
                size=[h, w], batch_size=args.batch_size,
                setting=args.setting)


def sweep_variants(args) -> List[dict]:
    """``--sweep-k --variants ...``: every method of every variant, each
    in its own process, interleaved; ratios to the variant's own
    supervised step, then last variant / first variant. The lite methods
    run in the last variant only. ``--balancer-names`` adds those
    balancers (parameter and rep-grad mode, full labels, against the
    variant's plain EW step) to the same interleaved rounds."""
    from benchmark_cases import make_tasks, method_cfg
    variants = [Variant(v) for v in args.variants]
    h, w = args.size
    print(f'# K sweep by variant: arch={args.arch}, {h}x{w}, batch '
          f'{args.batch_size}, cpu, {args.setting}, {args.threads or 1} '
          'thread(s); each case in its own process, rounds interleaved; '
          'step = wall time, CPU = user + kernel CPU time of the process; '
          'first steps = CPU time of the steps after building; kernel '
          'share = kernel CPU time / CPU time, faults = minor page faults '
          'per step (medians of the timed steps)\n')
    print('| K | method | variant | step (ms) | x supervised | CPU (ms) | '
          'x supervised | peak mem (MiB) | x supervised | first steps, CPU '
          '(s) | kernel share | faults/step |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|')
    rows, grad_rows = [], []
    for k in args.ks:
        tasks = make_tasks(k)
        cases = {f'{v.name}|{m}': variant_case(v, tasks, method_cfg(
            m, args.arch), args) for m in args.methods for v in variants
            if has_method(v, m, variants)}
        names = args.balancer_names or []
        if names:
            cases.update(balancer_cases(variants, tasks, names, args))
        res = run_interleaved(cases, args)
        for m in args.methods:
            for v in variants:
                if not has_method(v, m, variants):
                    continue
                r, base = res[f'{v.name}|{m}'], res[f'{v.name}|supervised']
                row = dict(k=k, method=m, variant=v.name, time_s=r['time'],
                           time_ratio=r['time'] / base['time'],
                           cpu_s=r['cpu'], cpu_ratio=r['cpu'] / base['cpu'],
                           mem_mib=r['mem'],
                           mem_ratio=r['mem'] / max(base['mem'], 1e-9),
                           first_s=[s['time'] for s in r['first']],
                           first_cpu_s=[s['user'] + s['sys']
                                        for s in r['first']],
                           sys_share=r['sys_share'], faults=r['faults'])
                rows.append(row)
                print(f'| {k} | {m} | {v.name} | {r["time"] * 1e3:.0f} | '
                      f'{row["time_ratio"]:.2f} | {r["cpu"] * 1e3:.0f} | '
                      f'{row["cpu_ratio"]:.2f} | {r["mem"]:.0f} | '
                      f'{row["mem_ratio"]:.2f} | ' + ', '.join(
                          f'{t:.1f}' for t in row['first_cpu_s']) +
                      f' | {100 * r["sys_share"]:.0f}% | '
                      f'{r["faults"]:.0f} |', flush=True)
        if names:
            print(f'\n# K={k}: gradient methods in the same run (full '
                  'labels), ratios to the variant\'s plain step (EW, full '
                  'labels)\n')
            grad_rows += [dict(r, k=k) for r in balancer_rows(
                res, variants, names)]
            print()
    if len(variants) > 1:
        first, last = variants[0].name, variants[-1].name
        print(f'\n| K | method | time x supervised: {first} → {last} | '
              f'CPU x supervised: {first} → {last} | '
              f'memory x supervised: {first} → {last} | step time '
              f'{last} / {first} | CPU {last} / {first} |')
        print('|---|---|---|---|---|---|---|')
        by = {(r['k'], r['method'], r['variant']): r for r in rows}
        for k in args.ks:
            for m in args.methods:
                if (k, m, first) not in by:
                    continue
                a, b = by[(k, m, first)], by[(k, m, last)]
                print(f'| {k} | {m} | {a["time_ratio"]:.2f} → '
                      f'{b["time_ratio"]:.2f} | {a["cpu_ratio"]:.2f} → '
                      f'{b["cpu_ratio"]:.2f} | {a["mem_ratio"]:.2f} → '
                      f'{b["mem_ratio"]:.2f} | '
                      f'{b["time_s"] / a["time_s"]:.2f} | '
                      f'{b["cpu_s"] / a["cpu_s"]:.2f} |')
    return rows + [dict(r, mode='gradient') for r in grad_rows]


def has_method(v: Variant, method: str, variants: List[Variant]) -> bool:
    """The lite settings (``mtpsl_lite``, ``jtr_lite``) are new in the
    last variant ("after"): older checkouts do not have them."""
    from benchmark_cases import LITE_METHODS
    return method not in LITE_METHODS or v is variants[-1]


def profile_variants(args) -> None:
    """``--profile --variants ...``: the stages of one profiled step per
    method and variant (after the interleaved timed rounds)."""
    from benchmark_cases import make_tasks, method_cfg
    variants = [Variant(v) for v in args.variants]
    args.profile = True
    print(f'# profile by variant: arch={args.arch}, {args.size[0]}x'
          f'{args.size[1]}, batch {args.batch_size}, {args.setting}, cpu; '
          'ms of one profiled step after the timed rounds\n')
    names = [v.name for v in variants]
    print('| K | method | stage | ' + ' | '.join(names) + ' |')
    print('|---|---|---|' + '---|' * len(names))
    for k in args.ks:
        tasks = make_tasks(k)
        cases = {f'{v.name}|{m}': variant_case(v, tasks, method_cfg(
            m, args.arch), args) for m in args.methods for v in variants}
        res = run_interleaved(cases, args)
        for m in args.methods:
            stages = {}
            for v in variants:
                for name, ms in res[f'{v.name}|{m}']['stages'].items():
                    stages.setdefault(name, {})[v.name] = ms
            for name in sorted(stages, key=lambda n: (n == 'total', n)):
                cells = [f'{stages[name].get(n, float("nan")):.0f}'
                         for n in names]
                label = '**step**' if name == 'total' else name
                print(f'| {k} | {m} | {label} | ' + ' | '.join(cells) +
                      ' |', flush=True)


def balancer_cases(variants: List[Variant], tasks: dict,
                   names: List[str], args) -> Dict[str, dict]:
    """Per variant: the plain step (EW) and each balancer in parameter and
    rep-grad mode, on full labels."""
    from benchmark_cases import optim_wrapper_cfg
    cases = {}
    for v in variants:
        cases[f'{v.name}|plain'] = dict(
            variant_case(v, tasks, None, args), setting='full')
        for name in names:
            for mode, rep in MODES:
                cases[f'{v.name}|{name}|{mode}'] = dict(variant_case(
                    v, tasks, None, args, optim_wrapper_cfg(
                        dict(type=name, window=1) if name == 'DWA' else
                        dict(type=name), rep)), setting='full')
    return cases


#: the two ways of taking per-task gradients: of the shared parameters, or
#: of the shared representation (``rep_grad=True``)
MODES = (('param', False), ('rep', True))


def balancer_rows(res: Dict[str, dict], variants: List[Variant],
                  names: List[str]) -> List[dict]:
    """Print and return the rows of :func:`balancer_cases`' results."""
    print('| method | variant | param: x plain | param: CPU x plain | '
          'param: mem x plain | rep: x plain | rep: CPU x plain | '
          'rep: mem x plain |')
    print('|---|---|---|---|---|---|---|---|')
    rows = []
    for name in names:
        for v in variants:
            base = res[f'{v.name}|plain']
            row = dict(method=name, variant=v.name)
            cells = []
            for mode, _ in MODES:
                r = res[f'{v.name}|{name}|{mode}']
                row[mode] = dict(time_s=r['time'], cpu_s=r['cpu'],
                                 mem_mib=r['mem'],
                                 time_ratio=r['time'] / base['time'],
                                 cpu_ratio=r['cpu'] / base['cpu'],
                                 mem_ratio=r['mem'] / max(base['mem'], 1e-9),
                                 first_s=[s['time'] for s in r['first']])
                cells += [f'{row[mode]["time_ratio"]:.2f}',
                          f'{row[mode]["cpu_ratio"]:.2f}',
                          f'{row[mode]["mem_ratio"]:.2f}']
            rows.append(row)
            print(f'| {name} | {v.name} | ' + ' | '.join(cells) + ' |',
                  flush=True)
    return rows


def balancers_variants(args, names: List[str]) -> List[dict]:
    """``--balancers --variants ...``: each gradient/weighting method in
    parameter and rep-grad mode, per variant, as a ratio to the variant's
    own plain step (EW), each case in its own process, interleaved."""
    from benchmark_cases import make_tasks
    variants = [Variant(v) for v in args.variants]
    tasks = make_tasks(args.ks[0])
    args.setting = 'full'
    res = run_interleaved(balancer_cases(variants, tasks, names, args), args)
    h, w = args.size
    print(f'# balancers by variant: K={args.ks[0]}, arch={args.arch}, '
          f'{h}x{w}, batch {args.batch_size}, full labels, cpu, '
          f'{args.threads or 1} thread(s); ratios to the variant\'s plain '
          'step (EW), wall time and CPU time (user + kernel)\n')
    return balancer_rows(res, variants, names)
