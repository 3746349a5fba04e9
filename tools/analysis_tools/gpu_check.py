# Copyright (c) mtlpartial contributors. All rights reserved.
"""One-call GPU check (issue 16): install from carried wheels, bf16
training, the NYUv2-protocol benchmark table and a SyncBN smoke step.

Stages, in order (each a subprocess through the tools' public CLI, except
``data``):

1. ``install``: ``pip install --no-index --no-deps --target SITE`` of the
   wheels in ``--wheels`` (``tools/analysis_tools/gpu_wheels.sh`` downloads
   them; setuptools only where ``pkg_resources`` is missing);
2. ``env``: imports the toolkit and records device, torch, CUDA, cuDNN and
   package versions;
3. ``data``: a fake MTAN-layout NYUv2 (``tests/utils/fake_datasets.py``),
   32 train / 8 val images at 288x384;
4. ``syncbn``: ``syncbn_smoke.py`` in a one-process NCCL group: the DGR
   config with ``sync_bn='torch'``, one training step;
5. ``train_jtr`` / ``train_dgr``: ``tools/train.py`` on
   ``configs/{jtr,dgr}/nyuv2_random.py`` (generated randomlabels mask),
   batch 4, 200 iterations, bf16 (``--amp`` and ``optim_wrapper.dtype=
   bfloat16``); fails on a non-finite loss (the model stops the run), a
   non-finite parameter in the final checkpoint, or a step that the loss
   scaler skipped for non-finite gradients;
6. ``methods_*``, ``grad_*``, ``k_sweep``: ``benchmark.py`` (MTAN SegNet,
   288x384, batch 4): supervised / MTPSL / JTR / DGR at K = 3 onelabel, the
   gradient methods in parameter and rep-grad mode, fp32 and bf16; the K
   sweep 2..7 only with ``--k-sweep``.

Every stage has a time budget (seconds) inside the global ``--budget``: it
gets at most its budget, and never the minimum (``min_s``) reserved for
each later stage that can still fit; one that overruns is killed with its
whole process group (``timeout``).
Stages whose prerequisites failed, or that no longer fit, are ``skipped``
with the reason. The report (``gpu_check.json``, ``gpu_check.md`` and the
stage logs as ``gpu_check_logs.tar.gz``; see ``gpu_check_report.py``) goes
to ``--out-dir`` (default ``$OUT`` when set). Exit status 1 when a stage
failed or timed out.

``--only STAGE ...`` runs those stages and the ones they need (install,
env, data), to rerun what failed; the others are skipped.

``--dry-run`` runs the same stages on CPU with tiny sizes and models, fp32,
gloo, no install and no memory measurement; the bf16 stages are skipped
(mmengine's AMP optim wrappers refuse a CPU) and the SyncBN step runs with
the converted modules reverted (torch's SyncBatchNorm trains on CUDA only).
To keep it short, it also skips ``grad_rep_fp32`` (``grad_param_fp32``'s
code with ``--rep-grad``) and runs two gradient methods.

Example (the device call is in docs/benchmarks.md)::

    tools/analysis_tools/gpu_check.sh --out-dir $OUT
    tools/analysis_tools/gpu_check.sh --out-dir $OUT --only syncbn
    python tools/analysis_tools/gpu_check.py --dry-run --out-dir /tmp/gc
"""
import argparse
import datetime
import json
import os
import os.path as osp
import sys
import tarfile
import time
from typing import List

HERE = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(osp.dirname(HERE))
for _path in (REPO_ROOT, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from gpu_check_report import (OFFICIAL, SCHEMA_VERSION,  # noqa: E402
                              collect_env, to_markdown)
from gpu_check_stages import Context, Stage, build_stages  # noqa: E402

def run_stages(ctx: Context, stages: List[Stage], deadline: float) -> list:
    results, status = [], {}
    for i, stage in enumerate(stages):
        t0 = time.monotonic()
        left = deadline - t0  # reserved: what later stages need at least
        reserve = sum(s.min_s for s in stages[i + 1:]
                      if not s.disabled and s.min_s <= left)
        allowed = min(stage.budget, left - reserve)
        blocked = [n for n in stage.needs
                   if status.get(n) in ('failed', 'timeout', 'blocked')]
        if stage.disabled:
            state, note = 'skipped', stage.disabled
        elif blocked:
            state, note = 'skipped', f'needs {", ".join(blocked)}'
        elif allowed < stage.min_s:
            state, note = 'skipped', (
                f'out of time ({max(allowed, 0):.0f} s left of the '
                f'{ctx.args.budget:.0f} s budget)')
        else:
            try:
                state, note = stage.run(ctx, allowed)
            except Exception as e:  # a broken parser must not end the run
                state, note = 'failed', f'{type(e).__name__}: {e}'
            if state == 'timeout':
                note = f'killed after {allowed:.0f} s; ' + note
        status[stage.name] = 'blocked' if blocked else state
        results.append(dict(name=stage.name, status=state,
                            seconds=time.monotonic() - t0,
                            budget_s=float(stage.budget), note=note))
        print(f'[gpu_check] {stage.name}: {state} '
              f'({results[-1]["seconds"]:.1f} s) {note}', flush=True)
    return results


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out-dir', default=os.environ.get('OUT') or osp.join(
        REPO_ROOT, 'work_dirs', 'gpu_check'))
    p.add_argument('--work-dir', default='/tmp/mtlpartial_gpu_check',
                   help='data, checkpoints and logs (not copied out)')
    p.add_argument('--wheels', default=osp.join(REPO_ROOT, '.whl'))
    p.add_argument('--site-dir', default='/tmp/mtlpartial_site')
    p.add_argument('--budget', type=float, default=None,
                   help='seconds for all stages (450; dry run 300)')
    p.add_argument('--k-sweep', action='store_true',
                   help='also the K = 2..7 sweep (fp32)')
    p.add_argument('--only', nargs='+', metavar='STAGE',
                   help='run these stages and those they need (a rerun '
                   'of the ones that failed), skip the others')
    p.add_argument('--dry-run', action='store_true',
                   help='CPU, tiny sizes, fp32: tests the logic')
    p.add_argument('--collect-env', action='store_true',
                   help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.budget is None:
        args.budget = 300.0 if args.dry_run else 450.0
    return args


def main() -> int:
    args = parse_args()
    if args.collect_env:
        collect_env()
        return 0
    started = time.monotonic()
    stamp = datetime.datetime.now().astimezone().isoformat(timespec='seconds')
    ctx = Context(args)
    stages = run_stages(ctx, build_stages(args), started + args.budget)
    report = dict(
        schema=SCHEMA_VERSION, dry_run=args.dry_run,
        started=stamp, total_s=time.monotonic() - started,
        budget_s=args.budget,
        ok=not any(s['status'] in ('failed', 'timeout') for s in stages),
        stages=stages, official=OFFICIAL, **ctx.report)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(osp.join(args.out_dir, 'gpu_check.json'), 'w') as f:
        json.dump(report, f, indent=1)
    markdown = to_markdown(report)
    with open(osp.join(args.out_dir, 'gpu_check.md'), 'w') as f:
        f.write(markdown)
    with tarfile.open(osp.join(args.out_dir, 'gpu_check_logs.tar.gz'),
                      'w:gz') as tar:
        tar.add(ctx.logs, arcname='logs')
    print(markdown, flush=True)
    return 0 if report['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
