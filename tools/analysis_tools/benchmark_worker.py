# Copyright (c) mtlpartial contributors. All rights reserved.
"""One benchmark case in its own process, commanded by ``benchmark.py``.

Started as ``python benchmark_worker.py CODE_ROOT`` (``CODE_ROOT``: the
checkout whose ``mtlpartial`` is measured, e.g. an older commit for a
before/after table); reads one JSON command per line on stdin and answers
one line ``BENCH {json}`` on stdout:

* ``{"cmd": "build", "case": {...}, "warmup": n}``: build the model and
  optim wrapper (in a gloo group when ``WORLD_SIZE`` > 1, with the case's
  model wrapper), run ``n`` warm-up steps; answers their per-step figures
  (``benchmark_cases.measure_steps``) and the peak memory of the first two
  steps (``VmHWM`` minus the resident size after building; CPU), the same
  figure as ``benchmark.py``'s memory subprocess.
* ``{"cmd": "time", "iters": n}``: ``n`` timed steps.
* ``{"cmd": "profile"}``: the stages of one profiled step.
* ``{"cmd": "exit"}``.

The driver runs one worker (or one group) at a time, so timed steps never
overlap.
"""
import json
import os
import os.path as osp
import sys


def main() -> None:
    code_root = osp.abspath(sys.argv[1])
    sys.path.insert(0, code_root)
    sys.path.insert(1, osp.dirname(osp.abspath(__file__)))
    import torch
    from mmengine.registry import init_default_scope

    import benchmark_cases as bc
    import mtlpartial  # noqa: F401
    from mtlpartial.utils.dist_utils import close_distributed
    loaded = osp.dirname(osp.dirname(osp.abspath(mtlpartial.__file__)))
    if loaded != code_root:
        raise SystemExit(f'benchmark_worker: imported mtlpartial from '
                         f'{loaded}, expected {code_root}')
    torch.set_num_threads(int(os.environ.get('BENCH_THREADS', '1')))
    world = int(os.environ.get('WORLD_SIZE', '1'))
    rank = int(os.environ.get('RANK', '0'))
    if world > 1:
        torch.distributed.init_process_group('gloo')
    init_default_scope('mtlpartial')
    state = {}

    def answer(obj) -> None:
        sys.stdout.write('BENCH ' + json.dumps(obj) + '\n')
        sys.stdout.flush()

    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd['cmd'] == 'exit':
            break
        if cmd['cmd'] == 'build':
            c = cmd['case']
            torch.manual_seed(c.get('seed', 0))
            wrapper = c.get('wrapper') if world > 1 else None
            if os.environ.get('BENCH_WRAPPER') == 'none':
                wrapper = None  # the optim wrapper sums the gradients
            model, ow = bc.build_case(c['tasks'], c['model'], c['arch'],
                                      'cpu', c['ow'], wrapper=wrapper)
            data = bc.make_batch(c['tasks'], c['batch_size'],
                                 bc.num_views(model), *c['size'],
                                 c['setting'], offset=rank * c['batch_size'])
            base = bc.rss_now()
            first = bc.measure_steps(model, ow, data, 2, 'cpu')
            mem = (bc.rss_now('VmHWM') - base) / 2**20
            rest = bc.measure_steps(model, ow, data,
                                    max(0, cmd['warmup'] - 2), 'cpu')
            state.update(model=model, ow=ow, data=data)
            answer(dict(mem=mem, steps=first + rest))
        elif cmd['cmd'] == 'time':
            answer(dict(steps=bc.measure_steps(
                state['model'], state['ow'], state['data'], cmd['iters'],
                'cpu')))
        elif cmd['cmd'] == 'profile':
            answer(dict(stages=bc.profile_step(
                state['model'], state['ow'], state['data'], 'cpu')))
        else:
            raise SystemExit(f'benchmark_worker: unknown command {cmd}')
    close_distributed()


if __name__ == '__main__':
    main()
