# Copyright (c) mtlpartial contributors. All rights reserved.
"""tools/analysis_tools/benchmark.py: every mode runs and prints its table
(tiny sizes; no timing is asserted)."""
import json
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = ['--size', '32', '32', '--batch-size', '2', '--iters', '1',
        '--rounds', '1', '--warmup', '1', '--device', 'cpu']


def bench(*args) -> str:
    out = subprocess.run(
        [sys.executable,
         osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark.py'), *args,
         *TINY], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def rows(text: str):
    return [[c.strip() for c in line.strip().strip('|').split('|')]
            for line in text.splitlines()
            if line.startswith('| ') and not line.startswith('| K |')
            and not line.startswith('| method |')]


def test_sweep_k_reports_every_method_as_ratio_to_supervised():
    table = rows(bench('--sweep-k', '--ks', '2', '3', '--no-memory'))
    assert [(r[0], r[1]) for r in table] == [
        (k, m) for k in ('2', '3')
        for m in ('supervised', 'mtpsl', 'jtr', 'dgr', 'diffusionmtl')]
    for r in table:
        assert float(r[2]) > 0
        if r[1] == 'supervised':
            assert r[3] == '1.00'


def test_sweep_k_measures_cpu_memory_in_a_subprocess():
    table = rows(bench('--sweep-k', '--ks', '2', '--methods', 'dgr'))
    assert [r[1] for r in table] == ['supervised', 'dgr']
    assert all(float(r[4]) > 0 for r in table), table


def test_balancers_are_ratios_to_the_plain_step():
    table = rows(bench('--balancers', '--ks', '3', '--no-memory',
                       '--balancer-names', 'PCGrad', 'CAGrad', '--rep-grad'))
    assert [r[0] for r in table] == ['plain', 'PCGrad', 'CAGrad']
    assert table[0][2] == '1.00'


def test_balancers_default_to_every_registered_method():
    from mtlpartial.registry import BALANCERS
    import mtlpartial.engine.balancers  # noqa: F401
    table = rows(bench('--balancers', '--ks', '2', '--no-memory'))
    # the package's own balancers (tests may register extra ones here)
    shipped = sorted(n for n, c in BALANCERS.module_dict.items()
                     if c.__module__.startswith('mtlpartial.'))
    assert [r[0] for r in table] == ['plain'] + shipped
    assert len(table) > 10


def test_profile_names_the_stages_of_each_method():
    text = bench('--profile', '--ks', '2', '--methods', 'jtr',
                 'diffusionmtl')
    table = rows(text)
    stages = {(r[1], r[2]) for r in table}
    for m in ('supervised', 'jtr', 'diffusionmtl'):
        for stage in ('mtl.backbone', 'mtl.heads', 'mtl.task_losses',
                      'backward+update', '**step**'):
            assert (m, stage) in stages, (m, stage, text)
    assert ('jtr', 'mtl.reg.jtr') in stages
    assert ('diffusionmtl', 'mtl.diffusion') in stages
    shares = [int(re.sub('%', '', r[4])) for r in table
              if r[1] == 'jtr' and r[2] != '**step**']
    assert 95 <= sum(shares) <= 105


def test_bf16_swaps_in_the_amp_wrappers_and_needs_cuda():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'benchmark', osp.join(ROOT, 'tools', 'analysis_tools',
                              'benchmark.py'))
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    plain = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4))
    assert benchmark.with_dtype(plain, 'fp32') is plain
    assert benchmark.with_dtype(plain, 'bf16') == dict(
        plain, type='AmpOptimWrapper', dtype='bfloat16')
    multi = dict(type='MultiTaskOptimWrapper', balancer=dict(type='MGDA'))
    assert benchmark.with_dtype(multi, 'bf16')['type'] == \
        'MultiTaskAmpOptimWrapper'
    out = subprocess.run(
        [sys.executable,
         osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark.py'),
         '--sweep-k', '--dtype', 'bf16', '--device', 'cpu'],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 2 and 'needs --device cuda' in out.stderr


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_bf16_sweep_on_gpu(tmp_path):
    out = subprocess.run(
        [sys.executable,
         osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark.py'),
         '--sweep-k', '--ks', '2', '--dtype', 'bf16', '--json',
         str(tmp_path / 'b.json'), *TINY[:-2], '--device', 'cuda'],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = json.loads((tmp_path / 'b.json').read_text())['rows']
    assert [r['method'] for r in rows] == ['supervised', 'mtpsl', 'jtr',
                                           'dgr']


def test_dist_reports_each_path_as_ratio_to_one_process():
    """Two gloo processes and one, per path (a one-path run keeps it
    short; the default compares the explicit sum with DDP)."""
    text = bench('--dist', '2', '--ks', '3', '--variants', 'ddp',
                 'explicit+BENCH_WRAPPER=none')
    table = rows(text)
    assert [(r[0], r[1]) for r in table if r[0] != 'case'] == [
        ('supervised', 'ddp'), ('supervised', 'explicit')]
    for r in table[-2:]:
        assert float(r[2]) > 0 and float(r[3]) > 0
        # the times are printed in whole ms
        ratio = float(r[3]) / float(r[2])
        assert abs(float(r[4]) - ratio) < 0.05 * ratio + 0.01, r


def test_variants_run_each_case_in_its_own_process(tmp_path):
    out = tmp_path / 'v.json'
    text = bench('--sweep-k', '--ks', '2', '--methods', 'supervised',
                 '--variants', 'a', 'b+MALLOC_ARENA_MAX=2', '--json',
                 str(out))
    assert 'time x supervised: a → b' in text
    got = json.loads(out.read_text())['rows']
    assert [(r['method'], r['variant']) for r in got] == [
        ('supervised', 'a'), ('supervised', 'b')]
    assert all(r['mem_mib'] > 0 and len(r['first_s']) >= 2 and r['cpu_s'] > 0
               for r in got)


def test_variants_sweep_adds_gradient_methods_and_lite_in_last_variant(
        tmp_path):
    """One run: the lite methods only in the last variant (older checkouts
    lack them), and ``--balancer-names`` adds gradient methods in both
    modes against each variant's plain step."""
    out = tmp_path / 'v.json'
    text = bench('--sweep-k', '--ks', '2', '--methods', 'supervised',
                 'mtpsl_lite', '--balancer-names', 'PCGrad', '--variants',
                 'a', 'b', '--json', str(out))
    assert 'gradient methods in the same run' in text
    got = json.loads(out.read_text())['rows']
    sweep = [(r['method'], r['variant']) for r in got
             if r.get('mode') != 'gradient']
    assert sweep == [('supervised', 'a'), ('supervised', 'b'),
                     ('mtpsl_lite', 'b')]
    grads = [r for r in got if r.get('mode') == 'gradient']
    assert [(r['method'], r['variant']) for r in grads] == [
        ('PCGrad', 'a'), ('PCGrad', 'b')]
    for r in grads:
        for mode in ('param', 'rep'):
            assert r[mode]['time_ratio'] > 0 and r[mode]['mem_mib'] > 0
