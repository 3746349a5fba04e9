# Copyright (c) mtlpartial contributors. All rights reserved.
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from tests.utils.tool_modules import load_tool
from mtlpartial.datasets.partial_labels import (OneLabel, Ratio, load_mask,
                                                mask_summary)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO_ROOT, 'tools', 'misc', 'partial_labels.py')
MASK_DIR = osp.join(
    osp.dirname(REPO_ROOT), 'shared', 'data', 'mtpsl_label_masks')


def official(name):
    path = osp.join(MASK_DIR, name)
    if not osp.isfile(path):
        pytest.skip(f'official mask file not available: {path}')
    return path


@pytest.fixture(scope='module')
def tool():
    return load_tool(TOOL, 'partial_labels_tool')


def summary_json(tool, capsys, path):
    tool.main(['summary', path, '--json'])
    return json.loads(capsys.readouterr().out)


def test_help_runs_from_repo_root_without_pythonpath():
    env = {k: v for k, v in __import__('os').environ.items()
           if k != 'PYTHONPATH'}
    out = subprocess.run([sys.executable, TOOL, 'summary', '--help'],
                         cwd=REPO_ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert '--task-order' in out.stdout


@pytest.mark.parametrize('name,per_task,per_image', [
    ('nyuv2_onelabel.pth', dict(semseg=265, depth=265, normal=265),
     {'1': 795}),
    ('nyuv2_randomlabels.pth', dict(semseg=392, depth=408, normal=385),
     {'1': 405, '2': 390}),
    ('cityscapes_onelabel.pth', dict(semseg=1487, depth=1488), {'1': 2975}),
    ('pascal_onelabel.npy', dict(human_parts=999, edge=999, semseg=1000,
                                 normals=1000, sal=1000), {'1': 4998}),
    ('pascal_randomlabels.npy', dict(human_parts=847, edge=2557,
                                     semseg=2450, normals=2480, sal=2445),
     {'1': 1538, '2': 1529, '3': 1541, '4': 390}),
])
def test_summary_of_official_files(tool, capsys, name, per_task, per_image):
    s = summary_json(tool, capsys, official(name))
    assert s['num_images'] == sum(per_image.values())
    assert s['per_task'] == per_task
    assert {k: v for k, v in s['labels_per_image'].items() if v} == per_image


def test_summary_text(tool, capsys):
    tool.main(['summary', official('nyuv2_randomlabels.pth')])
    out = capsys.readouterr().out
    for line in ('images: 795', 'semseg: 392', 'depth: 408', 'normal: 385',
                 '  1: 405', '  2: 390'):
        assert line in out


def test_make_then_summary(tool, capsys, tmp_path):
    out = str(tmp_path / 'nyu.npz')
    tool.main(['make', 'onelabel', '--tasks', 'semseg', 'depth', 'normal',
               '--num-images', '795', '--seed', '3', '--out', out])
    rec = load_mask(out)
    assert np.array_equal(rec.mask, OneLabel(3).make_mask(
        ('semseg', 'depth', 'normal'), 795))
    assert rec.meta['setting'] == 'OneLabel(seed=3)'
    capsys.readouterr()
    s = summary_json(tool, capsys, out)
    assert s['per_task'] == dict(semseg=265, depth=265, normal=265)

    out = str(tmp_path / 'ratio.json')
    tool.main(['make', 'Ratio', '--ratio', 'semseg=0.9', '--ratio',
               'depth=0.1', '--tasks', 'semseg', 'depth', '--num-images',
               '2975', '--out', out])
    assert np.array_equal(
        load_mask(out).mask,
        Ratio(dict(semseg=0.9, depth=0.1)).make_mask(('semseg', 'depth'),
                                                     2975))

    ids = tmp_path / 'ids.txt'
    ids.write_text('\n'.join(f'im{i}' for i in range(10)) + '\n')
    out = str(tmp_path / 'half.npz')
    tool.main(['make', "dict(type='HalfLabels', seed=2)", '--tasks', 'a',
               'b', 'c', 'd', '--image-ids', str(ids), '--out', out])
    rec = load_mask(out)
    assert rec.image_ids == tuple(f'im{i}' for i in range(10))
    assert mask_summary(rec.mask)['labels_per_image'][2] == 10


class RunsCode:
    """Unpickling this object would run a shell command."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        import os
        return (os.system, (f'touch {self.marker}', ))


def test_summary_refuses_a_mask_file_that_would_run_code(tool, tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'crafted.npy')
    # the official PASCAL layout, with a payload in an id list
    np.save(path, np.array({'semseg': ['2008_000001', RunsCode(str(
        marker))]}, dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r'crafted.npy: refused.*'
                       r'global posix.system|global nt.system'):
        tool.main(['summary', path])
    assert not marker.exists()  # was created: allow_pickle=True ran it


def test_pascal_id_lists_load_without_allow_pickle(tmp_path):
    path = str(tmp_path / 'ids.npy')
    np.save(path, np.array({'semseg': [np.str_('a'), 'b'],
                            'sal': [np.str_('b'), 'c']}, dtype=object),
            allow_pickle=True)
    record = load_mask(path)
    assert record.image_ids == ('a', 'b', 'c')
    assert record.mask.tolist() == [[True, False], [True, True],
                                    [False, True]]
    with pytest.raises(ValueError, match='object array of shape'):
        bad = str(tmp_path / 'objects.npy')
        np.save(bad, np.array([['a', 1]], dtype=object), allow_pickle=True)
        load_mask(bad)


def test_official_pascal_file_loads_without_allow_pickle():
    record = load_mask(official('pascal_onelabel.npy'))
    assert record.mask.shape == (4998, 5)
    assert record.mask.sum(1).tolist() == [1] * 4998
