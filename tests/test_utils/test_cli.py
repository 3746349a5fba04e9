# Copyright (c) mtlpartial contributors. All rights reserved.
"""Command-line helpers of tools/train.py and tools/test.py (issue 12,
case 10: config key typos, dicts on the command line, --resume with
nothing to resume)."""
import argparse
import os.path as osp

import pytest
from mmengine.config import Config

from mtlpartial.utils.cli import (ConfigOptionsAction, check_top_level_keys,
                                  find_resume_checkpoint)

CONFIG = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'supervised', 'synthetic_onelabel.py')


def parse(*items):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+',
                        action=ConfigOptionsAction)
    return parser.parse_args(['--cfg-options', *items]).cfg_options


def test_dict_values_on_the_command_line():
    opts = parse('train_dataloader.dataset.partial_labels=dict(type=MaskFile,'
                 "file='w/label_mask.npz')", "a.b={'type': 'OneLabel'}",
                 'tasks=[dict(name=depth,type=DepthTask)]', 'x.y=3',
                 'z=[1,2]')
    assert opts['train_dataloader.dataset.partial_labels'] == dict(
        type='MaskFile', file='w/label_mask.npz', _delete_=True)
    assert opts['a.b'] == dict(type='OneLabel', _delete_=True)
    assert opts['tasks'] == [dict(name='depth', type='DepthTask')]
    assert opts['x.y'] == 3 and opts['z'] == [1, 2]
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(opts)  # the dict replaces OneLabel(seed=0)
    assert cfg.train_dataloader.dataset.partial_labels == dict(
        type='MaskFile', file='w/label_mask.npz')


def test_unparsable_dict_value_names_the_option(capsys):
    with pytest.raises(SystemExit):  # was an mmengine RecursionError
        parse('partial_labels=dict(type=OneLabel,seed=1')
    err = capsys.readouterr().err
    assert 'partial_labels=dict(type=OneLabel,seed=1' in err
    assert 'partial_labels.type=' in err


def test_top_level_typo_warns():
    cfg = Config.fromfile(CONFIG)
    keys = list(cfg.keys())
    opts = parse('randomnes.seed=5', 'train_cfg.max_epochs=2')
    cfg.merge_from_dict(opts)
    cfg.randomnes2 = dict(seed=1)  # as if written in the config file
    warned = check_top_level_keys(cfg, keys + ['randomnes2'], opts)
    assert len(warned) == 2
    assert "'randomnes' is not a key of the config" in warned[0]
    assert "did you mean 'randomness'" in warned[0]
    assert "config key 'randomnes2' is not read" in warned[1]
    # helper variables of configs (tasks, pipelines ...) are fine
    assert check_top_level_keys(Config.fromfile(CONFIG), keys) == []


def test_resume_with_nothing_to_resume(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing to resume in the '
                       f'work dir {tmp_path}'):
        find_resume_checkpoint(str(tmp_path))
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_9.pth'))
    with pytest.raises(FileNotFoundError, match='epoch_9.pth.*does not '
                       'exist'):
        find_resume_checkpoint(str(tmp_path))
    (tmp_path / 'epoch_9.pth').write_bytes(b'x')
    assert find_resume_checkpoint(str(tmp_path)) == str(
        tmp_path / 'epoch_9.pth')
