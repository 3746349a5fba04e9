# Copyright (c) mtlpartial contributors. All rights reserved.
"""Results of ``tools/analysis_tools/gpu_check.py``: what its stages'
outputs are read with (log excerpts, tagged JSON lines, mmengine's
``scalars.json`` and checkpoints, the ``--collect-env`` child), and the
report, one JSON document and its markdown rendering.

JSON layout (``SCHEMA_VERSION``)::

    {schema, dry_run, started, total_s, budget_s, ok, environment: {...},
     stages: [{name, status, seconds, budget_s, note}],
     training: {name: {config, dtype, iters, finite, first_loss, last_loss,
                       s_per_iter, images_per_s, max_memory_mib,
                       amp_skipped_steps, val, ...}},
     benchmarks: {name: {mode, settings, rows: [{k, method, time_s,
                         time_ratio, mem_mib, mem_ratio, images_per_s}]}},
     syncbn: {...} | null, official: {method: {time, memory}}}

``status`` is one of ``ok``, ``failed``, ``timeout`` or ``skipped`` (with
the reason in ``note``).
"""
import glob
import json
import math
import os.path as osp
from typing import Dict, List, Optional

SCHEMA_VERSION = 1
STATUSES = ('ok', 'failed', 'timeout', 'skipped')
#: official implementations, one H100, NYUv2 protocol (MTAN SegNet,
#: 288x384), batch 4: ratios to their own supervised step (issue 16)
OFFICIAL = dict(
    mtpsl=dict(time=6.8, memory=4.1),
    jtr=dict(time=8.4, memory=4.9),
    dgr=dict(time=4.3, memory=2.2))


# ------------------------------------------------------ reading results
def excerpt(text: str) -> str:
    """The line that says what went wrong (else the last one that is not
    a warning, such as torch's exit-time NCCL notice), short."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if 'Error' in ln or 'error:' in ln or 'Non-finite' in ln:
            return ln[-300:]
    plain = [ln for ln in lines if 'Warning' not in ln]
    return (plain or lines or [''])[-1][-300:]


def tagged_json(text: str, tag: str) -> dict:
    for ln in reversed(text.splitlines()):
        if ln.startswith(tag + ' '):
            return json.loads(ln[len(tag) + 1:])
    raise ValueError(f'no {tag} line in the output')


def train_results(work: str, batch: int) -> dict:
    """Losses and speed from mmengine's ``scalars.json``; iterations,
    parameter finiteness and the AMP loss scale from the last checkpoint."""
    import torch
    scalars = sorted(glob.glob(osp.join(work, '*', 'vis_data',
                                        'scalars.json')))[-1]
    with open(scalars) as f:
        entries = [json.loads(ln) for ln in f if ln.strip()]
    train = [e for e in entries if 'loss' in e]
    losses = [v for e in train for k, v in e.items() if 'loss' in k]
    times = sorted(e['time'] for e in train[1:] or train)
    s_iter = times[len(times) // 2]
    with open(osp.join(work, 'last_checkpoint')) as f:
        ckpt = torch.load(f.read().strip(), map_location='cpu',
                          weights_only=False)
    params = [v for v in ckpt['state_dict'].values()
              if torch.is_tensor(v) and v.is_floating_point()]
    scale = (ckpt.get('optimizer') or {}).get('loss_scaler', {}).get('scale')
    skipped = None
    if scale is not None:  # GradScaler: 2**16, halved per skipped step
        skipped = max(0, round(math.log2(2.0**16 / float(scale))))
    return dict(
        iters=ckpt['meta']['iter'],
        finite=all(math.isfinite(v) for v in losses) and all(
            bool(torch.isfinite(t).all()) for t in params),
        first_loss=train[0]['loss'], last_loss=train[-1]['loss'],
        s_per_iter=s_iter, images_per_s=batch / s_iter,
        max_memory_mib=max((e.get('memory', 0) for e in train), default=0)
        or None, amp_skipped_steps=skipped,
        val={k: v for k, v in entries[-1].items() if '/' in k})


def collect_env() -> None:
    """``--collect-env`` (a child process): versions and device as JSON."""
    import platform

    import mmcv
    import mmengine
    import mmseg
    import torch

    import mtlpartial
    try:  # mmengine's Runner logs collect_env(), which imports it; on
        # Python >= 3.12 only setuptools' shim provides it
        from distutils import errors  # noqa: F401
        distutils = True
    except ImportError:
        distutils = False
    cuda = torch.cuda.is_available()
    env = dict(
        python=platform.python_version(), torch=torch.__version__,
        cuda=torch.version.cuda, cuda_available=cuda,
        cudnn=torch.backends.cudnn.version() if cuda else None,
        device=torch.cuda.get_device_name() if cuda else 'cpu',
        capability='.'.join(map(str, torch.cuda.get_device_capability()))
        if cuda else None,
        memory_gib=torch.cuda.get_device_properties(0).total_memory / 2**30
        if cuda else None,
        bf16=torch.cuda.is_bf16_supported() if cuda else None,
        mmengine=mmengine.__version__, mmcv=mmcv.__version__,
        mmseg=mmseg.__version__, mtlpartial=mtlpartial.__version__,
        numpy=__import__('numpy').__version__, distutils=distutils)
    print('ENV ' + json.dumps(env), flush=True)


# ------------------------------------------------------------ rendering
def fmt(value: Optional[float], spec: str = '.2f', suffix: str = '') -> str:
    """``value`` formatted, or ``-`` when missing or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    return f'{value:{spec}}{suffix}'


def _rows(bench: Optional[dict]) -> Dict[tuple, dict]:
    if not bench:
        return {}
    return {(r['k'], r['method']): r for r in bench.get('rows', [])}


def method_table(benchmarks: dict, k: int = 3) -> List[str]:
    """Supervised / MTPSL / JTR / DGR at ``k`` tasks: fp32 and bf16 ratios
    to the supervised step, images/s, and the official ratios."""
    fp32 = _rows(benchmarks.get('methods_fp32'))
    bf16 = _rows(benchmarks.get('methods_bf16'))
    methods = [m for (kk, m) in list(fp32) + list(bf16) if kk == k]
    methods = list(dict.fromkeys(methods))
    if not methods:
        return ['(not measured)']
    lines = [
        '| method | time fp32 | mem fp32 | time bf16 | mem bf16 '
        '| images/s fp32 | images/s bf16 | official time | official mem |',
        '|---|---|---|---|---|---|---|---|---|'
    ]
    for m in methods:
        a, b = fp32.get((k, m), {}), bf16.get((k, m), {})
        off = OFFICIAL.get(m, {})
        lines.append(
            f'| {m} | {fmt(a.get("time_ratio"), ".2f", "x")} '
            f'| {fmt(a.get("mem_ratio"), ".2f", "x")} '
            f'| {fmt(b.get("time_ratio"), ".2f", "x")} '
            f'| {fmt(b.get("mem_ratio"), ".2f", "x")} '
            f'| {fmt(a.get("images_per_s"), ".1f")} '
            f'| {fmt(b.get("images_per_s"), ".1f")} '
            f'| {fmt(off.get("time"), ".1f", "x")} '
            f'| {fmt(off.get("memory"), ".1f", "x")} |')
    return lines


def gradient_table(benchmarks: dict) -> List[str]:
    """Gradient methods: time (memory) ratio to the plain step, parameter
    and rep-grad mode, fp32 and bf16."""
    keys = [('grad_param_fp32', 'param fp32'), ('grad_rep_fp32', 'rep fp32'),
            ('grad_param_bf16', 'param bf16'), ('grad_rep_bf16', 'rep bf16')]
    tables = {key: {r['method']: r for r in
                    (benchmarks.get(key) or {}).get('rows', [])}
              for key, _ in keys}
    methods = list(dict.fromkeys(m for t in tables.values() for m in t))
    if not methods:
        return ['(not measured)']
    lines = ['| method | ' + ' | '.join(t for _, t in keys) + ' |',
             '|---|' + '---|' * len(keys)]
    for m in methods:
        cells = []
        for key, _ in keys:
            r = tables[key].get(m, {})
            cells.append(f'{fmt(r.get("time_ratio"), ".2f", "x")} '
                         f'({fmt(r.get("mem_ratio"), ".2f", "x")})')
        lines.append(f'| {m} | ' + ' | '.join(cells) + ' |')
    return lines


def sweep_table(bench: Optional[dict]) -> List[str]:
    rows = _rows(bench)
    if not rows:
        return ['(not run: pass --k-sweep)']
    methods = list(dict.fromkeys(m for _, m in rows))
    ks = sorted({k for k, _ in rows})
    lines = ['| K | ' + ' | '.join(f'{m} time (mem)' for m in methods) + ' |',
             '|---|' + '---|' * len(methods)]
    for k in ks:
        cells = [f'{fmt(rows.get((k, m), {}).get("time_ratio"), ".2f", "x")} '
                 f'({fmt(rows.get((k, m), {}).get("mem_ratio"), ".2f", "x")})'
                 for m in methods]
        lines.append(f'| {k} | ' + ' | '.join(cells) + ' |')
    return lines


def training_table(training: dict) -> List[str]:
    if not training:
        return ['(not run)']
    lines = ['| run | dtype | iters | finite | first loss | last loss '
             '| s/iter | images/s | max mem (MiB) | AMP skipped steps |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for name, t in training.items():
        lines.append(
            f'| {name} | {t.get("dtype", "-")} | {t.get("iters", "-")} '
            f'| {t.get("finite", "-")} | {fmt(t.get("first_loss"), ".4f")} '
            f'| {fmt(t.get("last_loss"), ".4f")} '
            f'| {fmt(t.get("s_per_iter"), ".3f")} '
            f'| {fmt(t.get("images_per_s"), ".1f")} '
            f'| {fmt(t.get("max_memory_mib"), ".0f")} '
            f'| {fmt(t.get("amp_skipped_steps"), "d")} |')
    return lines


def to_markdown(report: dict) -> str:
    env = report.get('environment') or {}
    title = 'GPU check (dry run on CPU)' if report['dry_run'] else 'GPU check'
    out = [
        f'# {title}', '',
        f'Device: **{env.get("device", "unknown")}**; torch '
        f'{env.get("torch", "?")}, CUDA {env.get("cuda") or "-"}, cuDNN '
        f'{env.get("cudnn") or "-"}, Python {env.get("python", "?")}; '
        f'mmengine {env.get("mmengine", "?")}, mmcv {env.get("mmcv", "?")}, '
        f'mmseg {env.get("mmseg", "?")}. Started {report["started"]}, '
        f'{report["total_s"]:.0f} s of a {report["budget_s"]:.0f} s budget; '
        f'overall: **{"ok" if report["ok"] else "FAILED"}**.', '',
        '## Stages', '',
        '| stage | status | seconds | budget (s) | note |',
        '|---|---|---|---|---|'
    ]
    for s in report['stages']:
        note = (s.get('note') or '').replace('|', '/').replace('\n', ' ')
        out.append(f'| {s["name"]} | {s["status"]} | {s["seconds"]:.1f} '
                   f'| {s["budget_s"]:.0f} | {note} |')
    bench = report.get('benchmarks') or {}
    settings = next((b['settings'] for b in bench.values() if b), {})
    proto = (f'{settings.get("arch", "?")} backbone, '
             f'{"x".join(map(str, settings.get("size", [])))}, batch '
             f'{settings.get("batch_size", "?")}, {settings.get("device", "")}'
             if settings else 'not measured')
    out += ['', '## Training (tools/train.py)', '', *training_table(
        report.get('training') or {}), '',
        f'## Methods, K = 3 onelabel ({proto})', '',
        'Step time and peak memory as ratios to the supervised step of the '
        'same dtype, measured in the same run; official: the methods\' '
        'own code, one H100, NYUv2 protocol, batch 4.', '',
        *method_table(bench), '',
        '## Gradient methods, K = 3 full labels', '',
        'Time (memory) as ratios to the plain summed-loss step of the same '
        'dtype.', '', *gradient_table(bench), '',
        '## K sweep (fp32, onelabel)', '', *sweep_table(
            bench.get('k_sweep')), '', '## SyncBN smoke', '']
    sync = report.get('syncbn')
    out.append(
        f'{sync["syncbn_modules"]} SyncBatchNorm modules, backend '
        f'{sync["backend"]}, world size {sync["world_size"]}, '
        f'{sync["iters"]} step(s), loss {sync["loss"]:.4f}'
        + (' (reverted to BatchNorm for the CPU step)'
           if sync.get('reverted_for_cpu') else '')
        + ('; sync-BN function vs batch norm, max relative difference '
           f'{max(sync["sync_kernel_rel_diffs"].values()):.2e} ('
           + ', '.join(f'{k} {v:.1e}' for k, v in
                       sync['sync_kernel_rel_diffs'].items()) + ')'
           if sync.get('sync_kernel_rel_diffs') else '')
        if sync else '(not run)')
    return '\n'.join(out) + '\n'
