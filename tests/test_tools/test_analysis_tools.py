# Copyright (c) mtlpartial contributors. All rights reserved.
"""The analysis tools on the work dir of a real (tiny) training run."""
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.utils.tiny_runs import TINY_CLI_OPTIONS
from tests.utils.tool_modules import load_tool as load_tool_file

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools', 'analysis_tools')
CONFIG = 'configs/supervised/synthetic_onelabel.py'
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def load_tool(name: str):
    return load_tool_file(osp.join(TOOLS, f'{name}.py'), f'analysis_{name}')


@pytest.fixture(scope='module')
def work_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('run') / 'onelabel')
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir', out,
         '--cfg-options', *TINY_CLI_OPTIONS],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def read_png_size(path: str):
    with open(path, 'rb') as f:
        head = f.read(24)
    assert head[:8] == PNG_MAGIC, f'{path} is not a PNG'
    return int.from_bytes(head[16:20], 'big'), int.from_bytes(
        head[20:24], 'big')


def write_fake_run(root: str, records, config: str) -> str:
    vis = osp.join(root, '20250101_000000', 'vis_data')
    os.makedirs(vis)
    with open(osp.join(vis, 'scalars.json'), 'w') as f:
        f.write('\n'.join(json.dumps(r) for r in records) + '\n')
    shutil.copy(config, osp.join(root, osp.basename(config)))
    return root


def test_plot_curves(work_dir, tmp_path):
    tool = load_tool('plot_curves')
    train, val, by_epoch = tool.load_run(work_dir)
    assert len(train) == 2 and len(val) == 1 and by_epoch
    assert [r['step'] for r in train] == [1, 2]
    out = str(tmp_path / 'curves.png')
    panels = tool.plot_curves([work_dir, work_dir], ['loss', 'loss_*',
                                                     'semseg/mIoU'], out,
                              names=['a', 'b'])
    assert panels == [
        'train: loss', 'train: loss_semseg', 'train: loss_depth',
        'train: loss_normal', 'val: semseg/mIoU'
    ]
    width, height = read_png_size(out)
    assert width > 400 and height > 300
    out2 = str(tmp_path / 'cli.png')
    assert tool.main([work_dir, '--keys', 'depth/*', '--out', out2]) == 0
    assert osp.isfile(out2)
    with pytest.raises(ValueError, match='matches no scalar.*semseg/mIoU'):
        tool.main([work_dir, '--keys', 'no_such_key', '--out', out2])
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        tool.load_run(str(tmp_path))


def test_collect_results_real_run(work_dir, tmp_path):
    tool = load_tool('collect_results')
    out = str(tmp_path / 'table.md')
    assert tool.main([work_dir, '--baseline', work_dir, '--out', out,
                      '--json', str(tmp_path / 'r.json')]) == 0
    lines = open(out).read().splitlines()
    header = lines[0]
    for key in ('semseg/mIoU', 'depth/abs_err', 'normal/mean', 'Δ% vs'):
        assert key in header
    assert 'data_time' not in header and 'loss' not in header
    assert len(lines) == 3 and lines[2].endswith('+0.00 |')
    summary = json.load(open(tmp_path / 'r.json'))['onelabel']
    scalars = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    last_val = json.loads(open(scalars[0]).read().splitlines()[-1])
    assert summary['semseg/mIoU'] == pytest.approx(last_val['semseg/mIoU'])
    assert summary['delta'] == 0.0


def test_collect_results_delta(work_dir, tmp_path):
    tool = load_tool('collect_results')
    config = glob.glob(osp.join(work_dir, '*.py'))[0]
    val = {'semseg/mIoU': 40.0, 'depth/abs_err': 0.5, 'normal/mean': 20.0,
           'data_time': 0.1, 'step': 12}
    base = write_fake_run(str(tmp_path / 'base'), [val], config)
    better = dict(val, **{'semseg/mIoU': 44.0, 'depth/abs_err': 0.45})
    train_after = {'loss': 1.0, 'lr': 1e-3, 'iter': 600, 'step': 600}
    run = write_fake_run(str(tmp_path / 'run'), [val, better, train_after],
                         config)
    table, summary = tool.collect([base, run], baseline=base,
                                  metrics=['semseg/*', 'depth/abs_err'])
    # (+10% mIoU, -10% abs_err (lower is better), 0% normal) / 3
    assert summary['run']['delta'] == pytest.approx(20 / 3)
    assert summary['base']['delta'] == 0
    assert '| run | 12 | 44.00 | 0.45 | +6.67 |' in table
    assert 'normal/mean |' not in table.splitlines()[0].split('Δ%')[0]
    # explicit Δ metrics: mIoU only
    _, summary = tool.collect([run], baseline=base,
                              delta_metrics=['semseg/mIoU'])
    assert summary['run']['delta'] == pytest.approx(10.0)
    with pytest.raises(KeyError, match='not a metric'):
        tool.collect([run], baseline=base, delta_metrics=['semseg/foo'])
    no_val = write_fake_run(str(tmp_path / 'noval'), [train_after], config)
    with pytest.raises(FileNotFoundError, match='no validation record'):
        tool.collect([no_val])


def test_browse_dataset(work_dir, tmp_path):
    from mtlpartial.datasets.partial_labels import load_mask
    tool = load_tool('browse_dataset')
    config = glob.glob(osp.join(work_dir, '*.py'))[0]
    mask_file = osp.join(work_dir, 'label_mask.npz')
    out = str(tmp_path / 'grid.png')
    assert tool.main([config, '--mask', mask_file, '--num', '4', '--out',
                      out]) == 0
    width, height = read_png_size(out)
    assert width > 300 and height > 300
    dataset = tool.build_dataset(config, 'train', mask_file)
    saved = load_mask(mask_file)
    cols = [saved.task_names.index(t) for t in dataset.task_names]
    np.testing.assert_array_equal(dataset.label_mask, saved.mask[:, cols])
    # raw samples carry ground truth of the labelled tasks only
    img, gts, _ = tool.load_item(dataset, 0, pipeline=False)
    labelled = [t for t, m in zip(dataset.task_names, dataset.label_mask[0])
                if m]
    assert sorted(gts) == sorted(labelled) and img.shape[2] == 3
    out_val = str(tmp_path / 'val.png')
    assert tool.main([config, '--split', 'val', '--num', '2', '--pipeline',
                      '--out', out_val]) == 0
    assert osp.isfile(out_val)
    with pytest.raises(ValueError, match='test mode'):
        tool.build_dataset(config, 'val', mask_file)


def test_get_flops(work_dir, tmp_path):
    tool = load_tool('get_flops')
    config = glob.glob(osp.join(work_dir, '*.py'))[0]
    out = str(tmp_path / 'flops.md')
    assert tool.main([config, '--shape', '64', '80', '--out', out]) == 0
    text = open(out).read()
    for part in ('shared (backbone + neck)', 'head: semseg (ConvHead)',
                 'head: depth', 'head: normal', 'model (inference)'):
        assert part in text
    # exact count of the MTAN head: 3x3 conv 16->16 and 1x1 conv 16->C,
    # 2 FLOPs per multiply-accumulate
    model = tool.build_model(
        config, {'model.regularizers': [dict(type='MTPSL',
                                             feat_channels=64)]})
    rows = {r[0]: r for r in tool.complexity(model, (64, 80), 2)}
    head = rows['head: semseg (ConvHead)']
    # 64x80 is padded to 64x96 (size_divisor=32 of the SegNet configs)
    assert head[2] == 2 * (16 * 16 * 9 + 16 * 6) * 64 * 96
    assert head[3] == '1 image 64x96'
    assert head[1] == 16 * 16 * 9 + 16 + 16 * 6 + 6
    reg = rows['regularizer: mtpsl (MTPSL)']
    assert reg[1] == sum(p.numel() for p in model.regularizers.parameters())
    assert reg[2] > 0


@pytest.mark.parametrize(
    'name', ['plot_curves', 'collect_results', 'browse_dataset', 'get_flops'])
def test_help(name, capsys):
    tool = load_tool(name)
    with pytest.raises(SystemExit) as exc:
        tool.parse_args(['--help'])
    assert exc.value.code == 0
    assert 'usage:' in capsys.readouterr().out
