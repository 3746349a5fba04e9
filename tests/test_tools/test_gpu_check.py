# Copyright (c) mtlpartial contributors. All rights reserved.
"""tools/analysis_tools/gpu_check.py: the dry run (CPU, tiny sizes) runs
every stage that does not need a GPU end to end and writes the report's
structure; the stage budgets kill overruns and skip what no longer fits."""
import importlib.util
import json
import math
import os.path as osp
import subprocess
import sys
from argparse import Namespace

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(ROOT, 'tools', 'analysis_tools')
STAGES = ['install', 'env', 'data', 'syncbn', 'train_jtr', 'train_dgr',
          'methods_fp32', 'methods_bf16', 'grad_param_fp32', 'grad_rep_fp32',
          'grad_param_bf16', 'grad_rep_bf16', 'k_sweep']


def load(name: str):
    if TOOLS not in sys.path:
        sys.path.insert(0, TOOLS)
    spec = importlib.util.spec_from_file_location(
        name, osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dry_run_writes_the_report(tmp_path):
    out, work = tmp_path / 'out', tmp_path / 'work'
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, 'gpu_check.py'), '--dry-run',
         '--out-dir', str(out), '--work-dir', str(work)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == [
        'gpu_check.json', 'gpu_check.md', 'gpu_check_logs.tar.gz']
    report = json.loads((out / 'gpu_check.json').read_text())
    assert report['dry_run'] and report['ok']
    assert report['environment']['device'] == 'cpu'
    status = {s['name']: (s['status'], s['note']) for s in report['stages']}
    assert list(status) == STAGES
    ran = ['env', 'data', 'syncbn', 'train_jtr', 'train_dgr', 'methods_fp32',
           'grad_param_fp32']
    assert all(status[s][0] == 'ok' for s in ran), status
    for s in set(STAGES) - set(ran):  # GPU-only or behind a flag: noted
        assert status[s][0] == 'skipped' and status[s][1], (s, status[s])
    assert 'bf16' in status['methods_bf16'][1]

    for name in ('jtr', 'dgr'):
        t = report['training'][name]
        assert t['finite'] and t['iters'] == 2 and t['dtype'] == 'fp32', t
        assert math.isfinite(t['last_loss']) and t['images_per_s'] > 0
        assert any(k.startswith('semseg/') for k in t['val']), t['val']
    bench = report['benchmarks']
    rows = bench['methods_fp32']['rows']
    assert [r['method'] for r in rows] == [
        'supervised', 'mtpsl', 'jtr', 'dgr', 'diffusionmtl']
    assert rows[0]['time_ratio'] == 1.0 and all(
        r['k'] == 3 and r['images_per_s'] > 0 for r in rows)
    grads = bench['grad_param_fp32']
    # --gradient-methods drops the loss weighting EW
    assert [r['method'] for r in grads['rows']] == ['plain', 'MGDA', 'DBMTL']
    assert grads['settings']['setting'] == 'full'
    assert grads['settings']['rep_grad'] is False
    sync = report['syncbn']
    assert sync['syncbn_modules'] > 0 and sync['backend'] == 'gloo'
    assert sync['reverted_for_cpu'] and sync['iters'] == 1
    assert report['official']['jtr'] == dict(time=8.4, memory=4.9)

    md = (out / 'gpu_check.md').read_text()
    for heading in ('## Stages', '## Training', '## Methods', '## Gradient',
                    '## K sweep', '## SyncBN'):
        assert heading in md
    assert '| mtpsl | ' in md and '6.8x' in md and '| MGDA |' in md


def make_context(module, tmp_path, dry_run=True):
    args = Namespace(dry_run=dry_run, work_dir=str(tmp_path), budget=100.0,
                     wheels=str(tmp_path / 'none'), site_dir=str(tmp_path))
    return module.Context(args)


def test_stage_budgets_kill_overruns_and_skip_what_does_not_fit(tmp_path):
    gpu_check = load('gpu_check')
    ctx = make_context(gpu_check, tmp_path)
    sleeper = [sys.executable, '-c', 'import time; time.sleep(60)']

    def slow(ctx, timeout):
        return ctx.call('slow', sleeper, timeout)[0], ''

    ok = gpu_check.Stage('ok', 5, 0, lambda ctx, t: ('ok', 'fine'))
    stages = [
        ok._replace(name='first'),
        gpu_check.Stage('slow', 1, 0.5, slow),
        ok._replace(name='after_slow', needs=('slow', )),
        ok._replace(name='off', disabled='pass --flag'),
        ok._replace(name='big', budget=50, min_s=30),
        ok._replace(name='last', min_s=1),
    ]
    import time
    res = gpu_check.run_stages(ctx, stages, time.monotonic() + 20)
    got = {r['name']: (r['status'], r['note']) for r in res}
    assert got['first'] == ('ok', 'fine')
    assert got['slow'][0] == 'timeout' and 'killed after 1 s' in \
        got['slow'][1]
    assert [r['seconds'] for r in res if r['name'] == 'slow'][0] < 30
    assert got['after_slow'] == ('skipped', 'needs slow')
    assert got['off'] == ('skipped', 'pass --flag')
    assert got['big'][0] == 'skipped' and 'out of time' in got['big'][1]
    assert got['last'] == ('ok', 'fine')


def test_install_without_wheels_uses_the_toolkit_if_importable(tmp_path):
    stages = load('gpu_check_stages')
    ctx = make_context(stages, tmp_path)
    status, note = stages.stage_install(ctx, 10)
    # this machine has the toolkit: reported, not installed
    assert status == 'skipped' and 'importable already' in note


def fake_calls(ctx, text='FloatingPointError: Non-finite loss at '
               'iteration 7: [\'dgr.loss_dgr\']'):
    calls = []

    def call(name, cmd, timeout):
        calls.append((name, cmd))
        return 'failed', text

    ctx.call = call
    return calls


def test_gpu_commands_use_bf16_the_protocol_and_rerun_fp32_on_nan(
        tmp_path):
    """The GPU-only command lines (no GPU here: the child is faked)."""
    stages = load('gpu_check_stages')
    ctx = make_context(stages, tmp_path, dry_run=False)
    calls = fake_calls(ctx)
    status, note = stages.train_stage('dgr')(ctx, 300)
    assert status == 'failed' and 'Non-finite loss' in note
    assert 'fp32 rerun: failed' in note
    (name, bf16), (name32, fp32) = calls
    assert (name, name32) == ('train_dgr', 'train_dgr_fp32')
    assert '--amp' in bf16 and 'optim_wrapper.dtype=bfloat16' in bf16
    assert '--amp' not in fp32 and 'train_cfg.max_epochs=25' in fp32
    assert 'train_dataloader.batch_size=4' in fp32
    assert set(ctx.report['training']) == {'dgr', 'dgr_fp32'}

    calls = fake_calls(ctx, 'RuntimeError: CUDA error')
    status, note = stages.train_stage('jtr')(ctx, 300)
    assert status == 'failed' and len(calls) == 1  # no rerun: not a NaN
    stages.bench_stage('grad_rep_bf16', ['--balancers', '--rep-grad'],
                       'bf16')(ctx, 60)
    cmd = ' '.join(calls[-1][1])
    for part in ('--arch segnet', '--size 288 384', '--batch-size 4',
                 '--dtype bf16', '--device cuda', '--rep-grad'):
        assert part in cmd
    assert '--no-memory' not in cmd and '--balancer-names' not in cmd


def test_train_results_flag_non_finite_losses_and_skipped_amp_steps(
        tmp_path):
    report = load('gpu_check_report')
    vis = tmp_path / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    lines = [dict(loss=2.0, loss_depth=1.0, time=0.5, step=1),
             dict(loss=1.5, loss_depth=float('nan'), time=0.3, step=2),
             dict(**{'semseg/mIoU': 1.0}, step=1)]
    vis.joinpath('scalars.json').write_text(
        '\n'.join(json.dumps(e) for e in lines))
    ckpt = tmp_path / 'iter_2.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(2)), meta=dict(iter=2),
                    optimizer=dict(loss_scaler=dict(scale=2.0**14))), ckpt)
    (tmp_path / 'last_checkpoint').write_text(str(ckpt))
    res = report.train_results(str(tmp_path), batch=4)
    assert res['finite'] is False and res['iters'] == 2
    assert res['amp_skipped_steps'] == 2
    assert res['s_per_iter'] == 0.3 and res['images_per_s'] == 4 / 0.3
    assert res['val'] == {'semseg/mIoU': 1.0}


def test_only_runs_the_named_stages_and_what_they_need():
    stages = load('gpu_check_stages')
    args = Namespace(dry_run=False, k_sweep=False, only=['syncbn'])
    got = {s.name: s.disabled for s in stages.build_stages(args)}
    assert [n for n, off in got.items() if not off] == [
        'install', 'env', 'data', 'syncbn']
    assert got['train_jtr'] == 'not in --only'
    assert got['k_sweep'] == 'pass --k-sweep'  # its own reason is kept
    args.only = None
    assert not any(s.disabled for s in stages.build_stages(args)
                   if s.name != 'k_sweep')
    args.only = ['syncbm']
    with pytest.raises(ValueError, match=r"unknown stage\(s\) \['syncbm'\]"):
        stages.build_stages(args)


def test_failure_note_skips_the_exit_time_warning():
    report = load('gpu_check_report')
    text = ('SYNCBN_RESULT {}\nsome failure without the word\n'
            '[rank0]:[W1204 ProcessGroupNCCL.cpp:1575] Warning: WARNING: '
            'destroy_process_group() was not called\n')
    assert report.excerpt(text) == 'some failure without the word'
    assert report.excerpt('a\nerror: differs\nlast') == 'error: differs'


def test_sync_kernel_difference_is_relative_to_each_tensor():
    smoke = load('syncbn_smoke')
    big = torch.full((3, ), 2000.0)
    # 7.3e-4 on a gradient of magnitude 2e3: float32 rounding, not a bug
    assert smoke.max_relative_diff(
        [big + 7.3e-4], [big]) == pytest.approx(3.65e-7, rel=0.01)
    assert smoke.max_relative_diff(
        [big + 7.3e-4], [big]) <= smoke.SYNC_KERNEL_RTOL
    # a real disagreement on a small tensor still fails
    small = torch.tensor([0.5, -1.0])
    assert smoke.max_relative_diff(
        [big, small + 1e-3], [big, small]) == pytest.approx(1e-3, rel=1e-4)
    assert smoke.max_relative_diff([torch.ones(2)], [torch.zeros(2)]) == 1.0


def test_kernel_check_loss_keeps_every_gradient_comparable():
    """float32 against float64 batch norm: within the check's tolerance for
    every tensor of ``batch_norm_outputs``; the squared-output loss it
    replaced is not (its input gradient cancels to an eps residual)."""
    smoke = load('syncbn_smoke')
    gen = torch.Generator().manual_seed(0)
    x, g = torch.randn(2, 4, 8, 8, 4, generator=gen).unbind(-1)[:2]
    w, b = torch.rand(4, generator=gen) + 0.5, torch.randn(4, generator=gen)

    def bn(dtype):
        return lambda xi, wi, bi: torch.nn.functional.batch_norm(
            xi, torch.zeros(4, dtype=dtype), torch.ones(4, dtype=dtype), wi,
            bi, True, 0.1, 1e-5)

    single = smoke.batch_norm_outputs(bn(torch.float32), x, g, w, b)
    double = smoke.batch_norm_outputs(
        bn(torch.float64), *(t.double() for t in (x, g, w, b)))
    assert [tuple(t.shape) for t in single] == [
        (2, 4, 8, 8), (2, 4, 8, 8), (4, ), (4, )]
    assert smoke.max_relative_diff(single, double) < smoke.SYNC_KERNEL_RTOL
    squared = smoke.batch_norm_outputs(bn(torch.float32), x, 2 * single[0],
                                       w, b)  # d(y^2)/dy = 2y
    squared64 = smoke.batch_norm_outputs(
        bn(torch.float64), x.double(), 2 * double[0], w.double(), b.double())
    assert smoke.max_relative_diff(squared[1:2], squared64[1:2]) > \
        smoke.SYNC_KERNEL_RTOL
