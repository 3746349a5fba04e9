# Copyright (c) mtlpartial contributors. All rights reserved.
"""What ``benchmark.py`` measures: the synthetic tasks, the models of each
method, the batches, the optim wrappers, and the timing of training steps
(with the process's CPU, kernel and page-fault counts per step).

Shared by ``benchmark.py`` (in-process runs), ``benchmark_worker.py`` (a
case in its own process, possibly on another checkout of the code) and
``benchmark_dist.py`` (gloo process groups). Only the public API of the
package is used (``MODELS``, ``build_optim_wrapper``, ``train_step``), so a
worker can run an older checkout as the "before" of a comparison.
"""
import copy
import os.path as osp
import resource
import time
from typing import Dict, List, Optional

import torch
from mmengine.optim import build_optim_wrapper

#: the entry point (its ``--memory-case`` runs :func:`memory_case_main`)
BENCHMARK = osp.join(osp.dirname(osp.abspath(__file__)), 'benchmark.py')

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
#: the documented lite settings (docs/methods/{mtpsl,jtr}.md), on request
LITE_METHODS = ('mtpsl_lite', 'jtr_lite')


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
    half = tuple(max(1, c // 2) for c in f)
    reg = dict(
        supervised=None,
        mtpsl=dict(type='MTPSL', channels=f, feat_channels=f[-1]),
        jtr=dict(type='JTR', channels=f),
        dgr=dict(type='DGR'),
        # lite: half-width auxiliary networks; JTR on two views
        mtpsl_lite=dict(type='MTPSL', channels=half, in_width=half[0],
                        feat_channels=f[-1]),
        jtr_lite=dict(type='JTR', channels=half, views=2))[method]
    return dict(regularizers=[reg] if reg else [])


def make_tasks(k: int) -> Dict[str, dict]:
    if not 1 <= k <= len(TASK_POOL):
        raise ValueError(f'--ks: K must be in 1..{len(TASK_POOL)}, got {k}')
    return dict(TASK_POOL[:k])


def make_batch(tasks: Dict[str, dict], b: int, v: int, h: int, w: int,
               setting: str = 'onelabel', offset: int = 0) -> dict:
    """A packed batch (:func:`mtlpartial.testing.fake_packed_batch`) with
    the onelabel (cyclic, starting at sample ``offset``: rank ``r`` of a
    distributed run takes samples ``r·b … r·b + b - 1``) or full label
    pattern."""
    from mtlpartial.testing import fake_packed_batch, label_pattern
    labelled = label_pattern(list(tasks), offset + b, setting)[offset:]
    return fake_packed_batch(tasks, labelled, v, (h, w))


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
               optim_wrapper: Optional[dict] = None, dtype: str = 'fp32',
               wrapper: Optional[dict] = None):
    """Model (the SegNet of ``arch`` with ``model`` overrides, see
    :func:`method_cfg`) and optim wrapper of one case.

    ``wrapper``: a model wrapper config (e.g. the distributed wrapper of
    ``configs/_base_/default_runtime.py``) built around the model, as
    mmengine's runner does before building the optim wrapper. Returns the
    (possibly wrapped) model, whose ``train_step`` is the one to time.
    """
    from mtlpartial.registry import MODEL_WRAPPERS, MODELS
    f = ARCHS[arch]['filters']
    cfg = dict(
        type='MultiTaskModel', tasks=tasks,
        backbone=dict(type='MTANSegNet', filters=f),
        heads=dict(type='ConvHead', in_channels=f[0]))
    cfg.update(copy.deepcopy(model or {}))
    model = MODELS.build(cfg).to(device)
    model.train()
    if wrapper:
        model = MODEL_WRAPPERS.build(copy.deepcopy(wrapper),
                                     default_args=dict(module=model))
    ow_cfg = optim_wrapper or optim_wrapper_cfg(dict(type='EW'))
    ow = build_optim_wrapper(model, with_dtype(copy.deepcopy(ow_cfg), dtype))
    return model, ow


def num_views(model) -> int:
    return getattr(model, 'module', model).num_views


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


def time_steps(model, ow, data, iters: int, device: str) -> List[float]:
    return [s['time'] for s in measure_steps(model, ow, data, iters, device)]


def measure_steps(model, ow, data, iters: int,
                  device: str) -> List[Dict[str, float]]:
    """Per step: wall ``time`` (s), user and kernel CPU time of the
    process (``user``, ``sys``, s) and minor page faults (``faults``)."""
    out = []
    for _ in range(iters):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        model.train_step(data, ow)
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        t = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        out.append(dict(time=t, user=r1.ru_utime - r0.ru_utime,
                        sys=r1.ru_stime - r0.ru_stime,
                        faults=r1.ru_minflt - r0.ru_minflt))
    return out


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


def profile_ops(model, ow, data, top: int) -> List[tuple]:
    """The ``top`` ops (forward and backward kernels) by self CPU time of
    one profiled CPU step: ``(name, ms, calls, share of the step)``."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        model.train_step(data, ow)
        total = (time.perf_counter() - t0) * 1e3
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    return [(e.key, e.self_cpu_time_total / 1e3, e.count,
             e.self_cpu_time_total / 1e3 / total) for e in events[:top]]


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
        data = make_batch(case['tasks'], args.batch_size, model.num_views,
                          *args.size, case['setting'])
        time_steps(model, ow, data, 1, args.device)
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        time_steps(model, ow, data, 1, args.device)
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    import json
    import subprocess
    import sys
    payload = json.dumps(dict(case, arch=args.arch, size=args.size,
                              batch_size=args.batch_size))
    out = subprocess.run(
        [sys.executable, BENCHMARK, '--memory-case', payload],
        capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def memory_case_main(payload: str) -> None:
    """Child process of :func:`measure_memory` (CPU)."""
    import json

    from mmengine.registry import init_default_scope
    case = json.loads(payload)
    init_default_scope('mtlpartial')
    torch.manual_seed(0)
    model, ow = build_case(case['tasks'], case['model'], case['arch'],
                           'cpu', case['ow'])
    data = make_batch(case['tasks'], case['batch_size'], model.num_views,
                      *case['size'], case['setting'])
    base = rss_now()
    time_steps(model, ow, data, 2, 'cpu')
    print((rss_now('VmHWM') - base) / 2**20)
