# Copyright (c) mtlpartial contributors. All rights reserved.
"""The synthetic results tool: paired statistics and the page from
summaries, resuming and claiming runs, and one real (tiny) run end to
end."""
import json
import math
import os
import os.path as osp
import socket
import subprocess
import sys
from argparse import Namespace

import numpy as np
import pytest
from scipy.stats import t

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools', 'analysis_tools')
sys.path.insert(0, TOOLS)
import results_page  # noqa: E402
from tests.utils.tool_modules import load_tool  # noqa: E402

tool = load_tool('tools/analysis_tools/synthetic_results.py',
                 'analysis_synthetic_results')

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def fake_run(method, setting, seed, miou, depth, normal, **extra):
    test = {'semseg/mIoU': miou, 'depth/abs_err': depth,
            'normal/mean': normal, 'semseg/IoU.box': miou + 5,
            'semseg/IoU.floor': miou + 30}
    curve = [{'step': e, 'semseg/mIoU': miou * e / 2,
              'depth/abs_err': depth * 2 / e, 'normal/mean': normal}
             for e in (1, 2)]
    return dict(method=method, setting=setting, seed=seed, test=test,
                train_minutes=1.5, val_curve=curve, diagnostics=extra.get(
                    'diagnostics', []), protocol=extra.get('protocol', 'p0'))


@pytest.fixture
def runs():
    out = []
    for seed, noise in enumerate([0.0, 0.4, -0.3]):
        out.append(fake_run('supervised', 'onelabel', seed, 30 + noise,
                            1.0, 30.0))
        out.append(fake_run('full', 'onelabel', seed, 40 + noise, 0.8,
                            27.0))
        out.append(fake_run('jtr', 'onelabel', seed, 33 + 2 * noise, 0.95,
                            29.0, diagnostics=[
                                {'iter': 50, 'jtr.grad_ratio': 3.0,
                                 'jtr.cos_gap': 0.2},
                                {'iter': 100, 'jtr.grad_ratio': 1.0,
                                 'jtr.cos_gap': 0.01}]))
    out.append(fake_run('mtpsl', 'onelabel', 0, 31, 1.0, 30.0))
    return out


def test_paired_statistics(runs):
    deltas = results_page.paired_deltas(runs, 'onelabel', 'jtr')
    assert sorted(deltas) == [0, 1, 2]
    noise = [0.0, 0.4, -0.3]
    ref = [100 / 3 * ((33 + 2 * n - 30 - n) / (30 + n) + 0.05 + 1 / 30)
           for n in noise]
    assert np.allclose([deltas[s] for s in range(3)], ref)
    mean, sd, half = results_page.t_interval(ref)
    assert mean == pytest.approx(np.mean(ref))
    assert half == pytest.approx(t.ppf(0.975, 2) * np.std(ref, ddof=1) /
                                 math.sqrt(3))
    assert math.isnan(results_page.t_interval([1.0])[2])
    room = results_page.headroom(runs, 'onelabel')
    assert room['n'] == 3 and room['ious']['box'][1] == pytest.approx(44.7)
    # a single seed gives no interval
    assert list(results_page.paired_deltas(runs, 'onelabel', 'mtpsl')) == [0]


def test_gap_share_is_paired_by_seed(runs):
    """mtpsl has seed 0 only: its share is over the gap of seed 0, not
    over the mean gap of all seeds."""
    deltas = results_page.paired_deltas(runs, 'onelabel', 'mtpsl')
    gaps = results_page.paired_deltas(runs, 'onelabel', 'full')
    share = results_page.gap_share(runs, 'onelabel', deltas)
    assert share == pytest.approx(deltas[0] / gaps[0] * 100)
    assert gaps[0] != pytest.approx(np.mean(list(gaps.values())))
    assert math.isnan(results_page.gap_share(runs, 'random', deltas))


def test_curves_need_enough_seeds(runs):
    """One lucky seed does not pick the method drawn in the curves."""
    lucky = runs + [fake_run('dgr', 'onelabel', 0, 60, 0.5, 20.0)]
    assert results_page.curve_method(lucky, 'onelabel') == 'jtr'
    assert results_page.curve_method(lucky, 'onelabel', min_seeds=1) == 'dgr'
    assert results_page.curve_method(lucky, 'random') is None


def test_coverage_counts_the_missing_required_runs(runs):
    lines = results_page.coverage_lines(runs)
    # onelabel: supervised, full and jtr have 3 of 5 seeds, mtpsl 1 of 5,
    # the other 5-seed rows none, the four 3-seed rows none; random: only
    # full's 3 seeds (they count in every setting)
    onelabel = 3 * 2 + 4 + 5 * 5 + 4 * 3
    random = 9 * 5 - 3 + 4 * 3
    assert lines[0].startswith(f'{onelabel + random} required runs missing')
    assert '| jtr | **3 / 5** (seeds 0,1,2) | **0 / 5** |' in lines
    assert '| full | **3 / 5** (seeds 0,1,2) | **3 / 5** (seeds 0,1,2) |' \
        in lines
    done = [fake_run('jtr', 'onelabel', s, 33, 1.0, 30.0) for s in (3, 4)]
    assert '| jtr | 5 / 5 (seeds 0,1,2,3,4) | **0 / 5** |' in \
        results_page.coverage_lines(runs + done)


def test_page(runs, tmp_path):
    out = tmp_path / 'results.md'
    out.write_text('old table\n' + results_page.NOTES_MARKER +
                   '\nhand-written notes\n')
    results_page.write_page(runs, str(out), str(tmp_path / 'fig'), 'page')
    text = out.read_text()
    assert 'hand-written notes' in text and 'old table' not in text
    assert '## onelabel' in text and '| jtr | 0,1,2 |' in text
    assert '## Coverage' in text
    assert ': met (needs' in text and 'NOT met' not in text
    assert '| onelabel | jtr | 3 / 2 / 1 | 0.2 / 0.01 / 0.01 |' in text
    for name in ('delta.png', 'curves_onelabel.png'):
        with open(tmp_path / 'fig' / name, 'rb') as f:
            assert f.read(8) == PNG_MAGIC


def test_run_end_to_end(tmp_path):
    tiny = [
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'train_dataloader.batch_size=4',
        'train_dataloader.dataset.num_images=8',
        'val_dataloader.dataset.num_images=4',
        'test_dataloader.dataset.num_images=4',
    ]
    cmd = [sys.executable, osp.join(TOOLS, 'synthetic_results.py'), 'run',
           '--methods', 'supervised', 'full', '--settings', 'onelabel',
           '--seeds', '0', '--runs', str(tmp_path / 'runs'), '--work-root',
           str(tmp_path / 'work'), '--extra-options'] + tiny
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
    path = tmp_path / 'runs' / 'onelabel' / 'supervised' / 'seed0.json'
    run = json.loads(path.read_text())
    assert run['seed'] == 0 and 'randomness.seed=0' in run['cfg_options']
    assert set(results_page.PRIMARY) <= set(run['test'])
    assert run['val_curve'] and 'semseg/mIoU' in run['val_curve'][0]
    assert (tmp_path / 'runs' / 'full' / 'full' / 'seed0.json').is_file()
    assert run['protocol'] == tool.protocol_fingerprint(
        run['config'], run['cfg_options'])
    # finished runs are skipped; the page is written from the summaries
    mtime = path.stat().st_mtime
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
    assert path.stat().st_mtime == mtime
    subprocess.run([sys.executable, osp.join(TOOLS, 'synthetic_results.py'),
                    'page', '--runs', str(tmp_path / 'runs'), '--out',
                    str(tmp_path / 'page.md'), '--figures',
                    str(tmp_path / 'fig')], cwd=REPO, check=True,
                   capture_output=True)
    assert '| full | 0 |' in (tmp_path / 'page.md').read_text()


def write_sitting(work_dir, stamp, val, diagnostics):
    """One sitting's log folder: a text log of 90 seconds, validation
    scalars and diagnostics."""
    folder = osp.join(work_dir, stamp)
    os.makedirs(osp.join(folder, 'vis_data'))
    with open(osp.join(folder, f'{stamp}.log'), 'w') as f:
        f.write('2026/01/01 00:00:00 - mmengine - INFO - start\n'
                'a line with no time stamp\n'
                '2026/01/01 00:01:30 - mmengine - INFO - end\n')
    with open(osp.join(folder, 'vis_data', 'scalars.json'), 'w') as f:
        for step, miou in val:
            f.write(json.dumps({'step': step, 'semseg/mIoU': miou}) + '\n')
            f.write(json.dumps({'step': step, 'loss': 1.0}) + '\n')
    with open(osp.join(folder, 'diagnostics.jsonl'), 'w') as f:
        for it, ratio in diagnostics:
            f.write(json.dumps({'iter': it, 'x.grad_ratio': ratio}) + '\n')


def test_summarise_joins_the_sittings_of_a_resumed_run(tmp_path):
    """A run resumed from its epoch-2 checkpoint repeats step 2 and
    iteration 100; the later sitting's records win."""
    work = str(tmp_path)
    write_sitting(work, '20260101_000000', [(1, 10.0), (2, 11.0)],
                  [(50, 0.5), (100, 0.4)])
    write_sitting(work, '20260101_010000', [(2, 12.0), (3, 13.0)],
                  [(100, 0.3), (150, 0.2)])
    out = tool.summarise(work)
    assert out['val_curve'] == [{'step': s, 'semseg/mIoU': m} for s, m in
                                ((1, 10.0), (2, 12.0), (3, 13.0))]
    assert [(d['iter'], d['x.grad_ratio']) for d in out['diagnostics']] \
        == [(50, 0.5), (100, 0.3), (150, 0.2)]


class FakeTools:
    """Stands in for tools/train.py and tools/test.py: records the
    commands and writes what they would."""

    def __init__(self, git=True):
        self.commands, self.envs, self.git = [], [], git

    def __call__(self, cmd, **kwargs):
        if cmd[0] == 'git':  # the summary's commit
            if not self.git:  # a copied working tree without .git
                raise subprocess.CalledProcessError(128, cmd)
            return subprocess.CompletedProcess(cmd, 0, stdout='abc1234')
        self.commands.append(cmd)
        self.envs.append(kwargs.get('env'))
        work_dir = cmd[cmd.index('--work-dir') + 1]
        if cmd[1] == 'tools/train.py':
            write_sitting(work_dir, f'2026010{len(self.commands)}_000000',
                          [(1, 10.0)], [])
            with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
                f.write(osp.join(work_dir, 'epoch_1.pth'))
        else:
            with open(cmd[cmd.index('--out') + 1], 'w') as f:
                json.dump({k: 1.0 for k in results_page.PRIMARY}, f)


def sweep_args(tmp_path):
    return Namespace(runs=str(tmp_path / 'runs'), work_root=str(
        tmp_path / 'work'), extra_options=[], threads=1)


def test_run_resumes_a_cut_off_training(tmp_path, monkeypatch):
    fake = FakeTools()
    monkeypatch.setattr(tool.subprocess, 'run', fake)
    args = sweep_args(tmp_path)
    out = tool.run_one('supervised', 'onelabel', 0, args)
    assert '--resume' not in fake.commands[0]
    # the summary is lost, the checkpoints are not: train again, resuming
    os.remove(out)
    assert tool.run_one('supervised', 'onelabel', 0, args) == out
    assert '--resume' in fake.commands[2]
    with open(out) as f:
        summary = json.load(f)
    # both sittings count, from their logs (a cut-off sitting writes
    # nothing more but its log)
    assert summary['train_minutes'] == 3.0
    assert summary['val_curve'] == [{'step': 1, 'semseg/mIoU': 10.0}]
    assert not osp.exists(out + '.lock')
    # a finished run is not run again
    assert tool.run_one('supervised', 'onelabel', 0, args) is None
    assert len(fake.commands) == 4


def test_run_records_device_and_trains_in_float32(tmp_path, monkeypatch):
    fake = FakeTools(git=False)
    monkeypatch.setattr(tool.subprocess, 'run', fake)
    monkeypatch.setattr(tool, 'run_device', lambda: 'NVIDIA H100')
    monkeypatch.setenv('MTLPARTIAL_COMMIT', 'def5678')
    out = tool.run_one('supervised', 'onelabel', 0, sweep_args(tmp_path))
    with open(out) as f:
        summary = json.load(f)
    assert summary['device'] == 'NVIDIA H100'
    # no .git: the commit the caller names
    assert summary['commit'] == 'def5678'
    # TF32 off for training and testing
    assert [env['NVIDIA_TF32_OVERRIDE'] for env in fake.envs] == ['0', '0']


def test_minutes_are_given_per_device(runs):
    seeds = [dict(r, train_minutes=m) for r, m in
             zip(runs[:3], (10.0, 12.0, 2.0))]
    assert results_page.minutes_cell(seeds[:2]) == '11.0'
    seeds[2]['device'] = 'NVIDIA H100'
    assert results_page.minutes_cell(seeds) == \
        '2.0 (NVIDIA H100 ×1), 11.0 (cpu ×2)'
    table = results_page.setting_table(
        [dict(r, device='NVIDIA H100') if r['method'] == 'jtr' else r
         for r in runs], 'onelabel')
    assert any(line.startswith('| jtr |') and '(NVIDIA H100 ×3)' in line
               for line in table)


def test_run_claimed_by_another_sweep_is_skipped(tmp_path, monkeypatch):
    fake = FakeTools()
    monkeypatch.setattr(tool.subprocess, 'run', fake)
    args = sweep_args(tmp_path)
    lock = tmp_path / 'runs' / 'onelabel' / 'supervised' / 'seed0.json.lock'
    lock.parent.mkdir(parents=True)
    # held by a live process on this host (this one): skipped, kept
    lock.write_text(f'{socket.gethostname()} {os.getpid()}\n')
    assert tool.run_one('supervised', 'onelabel', 0, args) is None
    assert fake.commands == [] and lock.is_file()
    # left by a process that has exited: taken over, released after
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    lock.write_text(f'{socket.gethostname()} {dead.pid}\n')
    assert tool.run_one('supervised', 'onelabel', 0, args) is not None
    assert len(fake.commands) == 2 and not lock.exists()


def test_compare_pairs_two_rows_by_seed(runs):
    """The difference of two rows' Δ, seed by seed, on the seeds both
    have; against supervised it is the row's own Δ."""
    runs = runs + [fake_run('ssl', 'onelabel', s, 31 + s, 0.97, 29.5)
                   for s in (0, 2)]
    jtr = results_page.paired_deltas(runs, 'onelabel', 'jtr')
    ssl = results_page.paired_deltas(runs, 'onelabel', 'ssl')
    result = results_page.compare(runs, 'onelabel', 'jtr', 'ssl')
    assert result['seeds'] == [0, 2]
    diffs = [jtr[s] - ssl[s] for s in (0, 2)]
    assert [result['rows'][s]['difference'] for s in (0, 2)] == \
        pytest.approx(diffs)
    assert result['mean'] == pytest.approx(np.mean(diffs))
    assert result['half'] == pytest.approx(
        t.ppf(0.975, 1) * np.std(diffs, ddof=1) / math.sqrt(2))
    # jtr: mIoU 33 / 32.4 against ssl 31 / 33; depth and normal better
    assert result['better'] == {'semseg/mIoU': 1, 'depth/abs_err': 2,
                                'normal/mean': 2}
    assert result['rows'][2]['metrics']['semseg/mIoU'] == \
        pytest.approx((32.4, 33.0))
    mean, _, half = result['per_task']['semseg/mIoU']
    assert mean == pytest.approx(np.mean([33 - 31, 32.4 - 33]))
    assert half == pytest.approx(t.ppf(0.975, 1) * np.std(
        [2.0, -0.6], ddof=1) / math.sqrt(2))
    assert result['per_task']['depth/abs_err'][0] == pytest.approx(-0.02)
    own = results_page.compare(runs, 'onelabel', 'jtr')
    assert [own['rows'][s]['difference'] for s in own['seeds']] == \
        pytest.approx([jtr[s] for s in sorted(jtr)])
    lines = results_page.compare_lines(runs, 'onelabel', 'jtr', 'ssl')
    assert lines[0].startswith(
        'onelabel, test split: jtr against ssl, 2 paired seed')
    assert len([x for x in lines if x.startswith('| 0 |') or
                x.startswith('| 2 |')]) == 2
    assert 'better on: semseg/mIoU 1/2' in lines[-2]
    assert lines[-1].startswith('per task, jtr minus ssl (95% t): '
                                'semseg/mIoU +0.70 [')
    with pytest.raises(KeyError, match="'dgr' share no seed"):
        results_page.compare(runs, 'onelabel', 'dgr')
    # with the other row as the baseline: Δ% of jtr against ssl directly
    direct = results_page.compare(runs, 'onelabel', 'jtr', 'ssl',
                                  reference='other')
    a = results_page.by_seed(runs, 'onelabel', 'jtr')
    b = results_page.by_seed(runs, 'onelabel', 'ssl')
    assert [direct['rows'][s]['difference'] for s in (0, 2)] == \
        pytest.approx([results_page.delta_percent(a[s]['test'], b[s]['test'])
                       for s in (0, 2)])
    assert direct['mean'] != pytest.approx(result['mean'])
    assert 'Δ% against ssl' in results_page.compare_lines(
        runs, 'onelabel', 'jtr', 'ssl', reference='other')[0]
    with pytest.raises(ValueError, match="'ssl'"):
        results_page.compare(runs, 'onelabel', 'jtr', reference='ssl')


def write_summaries(runs, folder):
    """The summaries as ``run`` lays them out under ``--runs``."""
    for run in runs:
        path = folder / run['setting'] / run['method'] / \
            f'seed{run["seed"]}.json'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(run))


def test_compare_command(runs, tmp_path, capsys):
    write_summaries(runs, tmp_path)
    tool.main(['compare', 'jtr', '--setting', 'onelabel', '--runs',
               str(tmp_path)])
    out = capsys.readouterr().out
    assert 'jtr against supervised, 3 paired seed(s) (0, 1, 2)' in out
    assert 'difference / std' in out
    with pytest.raises(SystemExit, match="'mtpsl' and 'jtr' share no"):
        tool.main(['compare', 'mtpsl', 'jtr', '--setting', 'random',
                   '--runs', str(tmp_path)])


def test_standardized_interval_inverts_the_noncentral_t():
    """The bounds are the noncentralities that put the observed t at the
    97.5% and 2.5% quantiles; the interval covers d and narrows with more
    seeds of the same spread."""
    from scipy.stats import nct
    gaps = [17.49, 15.29, 20.67, 12.16, 10.32]
    d, low, high = results_page.standardized_interval(gaps)
    assert d == pytest.approx(np.mean(gaps) / np.std(gaps, ddof=1))
    t_obs = d * math.sqrt(5)
    assert nct.sf(t_obs, 4, low * math.sqrt(5)) == pytest.approx(0.025)
    assert nct.sf(t_obs, 4, high * math.sqrt(5)) == pytest.approx(0.975)
    assert low < d < high
    more = results_page.standardized_interval(gaps * 4)
    assert high - low > more[2] - more[1]
    assert all(math.isnan(x) for x in
               results_page.standardized_interval([3.0]))
    assert all(math.isnan(x) for x in
               results_page.standardized_interval([2.0, 2.0]))
    # a negative mean gives a negative d and bounds below zero
    neg = results_page.standardized_interval([-x for x in gaps])
    assert neg[0] == pytest.approx(-d) and neg[2] == pytest.approx(-low)


def test_headroom_target_is_set_on_onelabel(runs):
    """The headroom verdict of a setting other than onelabel says that
    issue 11 sets the target on onelabel only."""
    random = [dict(r, setting='random') for r in runs
              if r['method'] in ('supervised', 'full')]
    lines = results_page.headroom_lines(runs + random,
                                        ['onelabel', 'random'])
    assert lines[0].startswith('* **onelabel**') and \
        'for information' not in lines[0]
    assert lines[1].startswith('* **random**') and lines[1].endswith(
        'issue 11 sets this target on onelabel only, so here it is for '
        'information).')


def test_val_split_reads_the_last_validation(runs):
    """``split='val'`` pairs the last point of the validation curves, not
    the test metrics; a run without a curve is named."""
    for run in runs:
        run['val_curve'][-1].update({'semseg/mIoU': 20.0 + run['seed'],
                                     'semseg/IoU.panel': 10.0})
    val = results_page.paired_deltas(runs, 'onelabel', 'full', split='val')
    test = results_page.paired_deltas(runs, 'onelabel', 'full')
    assert val != test
    # same mIoU on val for both arms of a seed: only depth and normal count
    assert val[1] == pytest.approx(100 / 3 * (0.2 + 0.1))
    room = results_page.headroom(runs, 'onelabel', split='val')
    assert room['ious'] == {'panel': (10.0, 10.0)}
    assert 'per-class val IoU' in results_page.headroom_lines(
        runs, ['onelabel'], split='val')[-1]
    cmp = results_page.compare(runs, 'onelabel', 'full', split='val')
    assert cmp['rows'][1]['metrics']['semseg/mIoU'] == (21.0, 21.0)
    with pytest.raises(ValueError, match="'train'"):
        results_page.metrics_of(runs[0], 'train')
    runs[0]['val_curve'] = []
    with pytest.raises(KeyError, match='onelabel/supervised/seed0: no '
                       'validation curve'):
        results_page.headroom(runs, 'onelabel', split='val')


def test_headroom_command(runs, tmp_path, capsys):
    write_summaries(runs, tmp_path)
    tool.main(['headroom', '--split', 'val', '--settings', 'onelabel',
               '--runs', str(tmp_path)])
    out = capsys.readouterr().out
    assert out.startswith('* **onelabel**: full-label supervised is Δ')
    assert '3 paired seeds' in out
    with pytest.raises(SystemExit, match='no seed with both full-label and '
                       'random supervised'):
        tool.main(['headroom', '--settings', 'random', '--runs',
                   str(tmp_path)])


def test_protocol_fingerprint_is_shared_by_methods_not_by_protocols():
    options = tool.RUNTIME_OPTIONS
    fp = tool.protocol_fingerprint
    page = {fp(tool.config_path(m, s), options)
            for m in ('supervised', 'full', 'mtpsl', 'jtr_stable', 'dgr')
            for s in ('onelabel', 'random')}
    assert len(page) == 1  # views and label settings are the method's
    base = page.pop()
    cfg = tool.config_path('supervised', 'onelabel')
    assert fp(cfg, options + ['randomness.seed=3']) == base
    for change in ('train_dataloader.dataset.num_images=100',
                   'train_dataloader.dataset.scene.albedo_contrast=2.0',
                   'train_cfg.max_epochs=117',
                   'model.tasks.0.class_weight=(1,1,1,1,1,1)',
                   'default_hooks.ema.type=EMAHook',
                   'train_dataloader.sampler.type=TaskBalancedSampler',
                   'train_dataloader.sampler.shuffle=False',
                   'load_from=init0.pth'):
        assert fp(cfg, options + [change]) != base, change
    # keys hashed only when changed: their defaults leave the fingerprint
    # of the runs recorded before they entered it
    for same in ('train_dataloader.sampler.type=DefaultSampler',
                 'load_from=None'):
        assert fp(cfg, options + [same]) == base, same


def test_folders_of_mixed_or_unrecorded_protocols_are_refused(
        runs, tmp_path):
    runs[0]['protocol'] = 'p1'
    write_summaries(runs, tmp_path / 'mixed')
    with pytest.raises(ValueError,
                       match=r'mix protocols \(p0: 9 runs .*p1: 1 runs'):
        results_page.load_runs(str(tmp_path / 'mixed'))
    del runs[0]['protocol']
    write_summaries(runs, tmp_path / 'none')
    with pytest.raises(ValueError, match='1 summaries record no protocol '
                       r'\(e.g. onelabel/supervised/seed0\).*--write'):
        results_page.load_runs(str(tmp_path / 'none'))
    with pytest.raises(SystemExit, match='record no protocol'):
        tool.main(['headroom', '--runs', str(tmp_path / 'none')])


def test_run_stops_before_training_on_another_protocol(
        runs, tmp_path, monkeypatch):
    fake = FakeTools()
    monkeypatch.setattr(tool.subprocess, 'run', fake)
    write_summaries(runs, tmp_path / 'runs')  # protocol 'p0'
    with pytest.raises(SystemExit, match='holds runs of protocol p0'):
        tool.main(['run', '--methods', 'supervised', '--settings',
                   'onelabel', '--seeds', '5', '--runs',
                   str(tmp_path / 'runs'), '--work-root',
                   str(tmp_path / 'work')])
    assert fake.commands == []


def test_protocol_command_records_the_missing_fingerprints(
        tmp_path, capsys):
    cfg = tool.config_path('supervised', 'onelabel')
    run = fake_run('supervised', 'onelabel', 0, 30.0, 1.0, 30.0)
    del run['protocol']
    run.update(config=cfg, cfg_options=['randomness.seed=0'])
    write_summaries([run], tmp_path)
    tool.main(['protocol', '--runs', str(tmp_path)])
    assert 'records none' in capsys.readouterr().out
    tool.main(['protocol', '--runs', str(tmp_path), '--write'])
    path = tmp_path / 'onelabel' / 'supervised' / 'seed0.json'
    assert json.loads(path.read_text())['protocol'] == \
        tool.protocol_fingerprint(cfg, [])
    assert results_page.load_runs(str(tmp_path))
