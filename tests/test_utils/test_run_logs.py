# Copyright (c) mtlpartial contributors. All rights reserved.
"""The scalars reader shared by the analysis tools."""
import json

import pytest

from mtlpartial.utils.run_logs import (find_scalar_files, load_run,
                                       read_scalars, run_names,
                                       sitting_minutes)


def write(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('\n'.join(json.dumps(r) for r in records) + '\n\n')


def test_sittings_are_read_in_order_and_a_later_file_wins(tmp_path):
    write(tmp_path / '20250101_000000' / 'vis_data' / 'scalars.json',
          [dict(loss=2.0, lr=0.1, step=1), dict(loss=1.5, lr=0.1, step=2),
           {'semseg/mIoU': 10.0, 'step': 1}])
    write(tmp_path / '20250102_000000' / 'vis_data' / 'scalars.json',
          [dict(loss=1.0, lr=0.1, epoch=1, step=2),
           {'semseg/mIoU': 20.0, 'step': 2}])
    files = find_scalar_files(str(tmp_path))
    assert [f.split('/')[-3] for f in files] == ['20250101_000000',
                                                 '20250102_000000']
    assert find_scalar_files(files[0]) == [files[0]]
    train, val, by_epoch = load_run(str(tmp_path))
    assert [r['loss'] for r in train] == [2.0, 1.0] and by_epoch
    assert [r['semseg/mIoU'] for r in val] == [10.0, 20.0]


def test_bad_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        find_scalar_files(str(tmp_path))
    path = tmp_path / 'scalars.json'
    path.write_text('{"loss": 1.0, "step": 1}\n{"loss": 2.0}\n')
    with pytest.raises(ValueError, match=r'scalars.json:2: .*\[\'step\'\]'):
        read_scalars(str(path))
    path.write_text('{"loss": 1.0, "step": 1}\nnot json\n')
    with pytest.raises(ValueError, match='scalars.json:2: not a JSON line'):
        read_scalars(str(path))


def test_run_names():
    assert run_names(['a/b/', 'c']) == ['b', 'c']
    assert run_names(['a', 'c'], ['x', 'y']) == ['x', 'y']
    with pytest.raises(ValueError, match='1 names for 2 work dirs'):
        run_names(['a', 'c'], ['x'])


def test_sitting_minutes_from_the_text_logs(tmp_path):
    """One value per sitting, oldest first, from the first to the last
    time-stamped line (a cut-off sitting counts up to its last line); other
    logs (a test run's folder, a file named unlike its folder) are not
    sittings."""
    sittings = {
        '20260101_235000': ['2026/01/01 23:50:00 - start', 'traceback',
                            '2026/01/02 00:05:30 - killed after this'],
        '20260102_010000': ['2026/01/02 01:00:00 - resumed',
                            '2026/01/02 01:10:00 - done'],
    }
    for stamp, lines in sittings.items():
        (tmp_path / stamp).mkdir()
        (tmp_path / stamp / f'{stamp}.log').write_text('\n'.join(lines))
    (tmp_path / 'test' / '20260102_020000').mkdir(parents=True)
    (tmp_path / 'test' / '20260102_020000' / '20260102_020000.log') \
        .write_text('2026/01/02 02:00:00 - a\n2026/01/02 03:00:00 - b')
    (tmp_path / '20260101_235000' / 'other.log').write_text(
        '2026/01/01 00:00:00 - a\n2026/01/03 00:00:00 - b')
    assert sitting_minutes(str(tmp_path)) == [15.5, 10.0]
    assert sitting_minutes(str(tmp_path / 'test')) == [60.0]
    with pytest.raises(FileNotFoundError, match='empty: no <timestamp>'):
        sitting_minutes(str(tmp_path / 'empty'))
