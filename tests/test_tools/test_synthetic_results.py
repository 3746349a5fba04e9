# Copyright (c) mtlpartial contributors. All rights reserved.
"""The synthetic results tool: paired statistics and the page from
summaries, and one real (tiny) run end to end."""
import json
import math
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import t

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools', 'analysis_tools')
sys.path.insert(0, TOOLS)
import results_page  # noqa: E402

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
                    'diagnostics', []))


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


def test_page(runs, tmp_path):
    out = tmp_path / 'results.md'
    out.write_text('old table\n' + results_page.NOTES_MARKER +
                   '\nhand-written notes\n')
    results_page.write_page(runs, str(out), str(tmp_path / 'fig'), 'page')
    text = out.read_text()
    assert 'hand-written notes' in text and 'old table' not in text
    assert '## onelabel' in text and '| jtr | 0,1,2 |' in text
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
