# Copyright (c) mtlpartial contributors. All rights reserved.
"""The label mask is part of a run's identity (issue 12, case 3)."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch

from mtlpartial.datasets.partial_labels import OneLabel, load_mask
from tests.utils.tiny_runs import tiny_cfg, train
from tests.utils.tiny_runs import release_logger_streams  # noqa: F401

TASKS = ('semseg', 'depth', 'normal')
SEED1 = dict(train_dataloader=dict(dataset=dict(partial_labels=dict(
    type='OneLabel', seed=1))))


@pytest.fixture(scope='module')
def seed0_run(tmp_path_factory):
    work = str(tmp_path_factory.mktemp('mask') / 'seed0')
    train(tiny_cfg(work, 2))
    return work


def test_record_round_trip_and_comparison():
    from mtlpartial.datasets.hooks.save_label_mask_hook import (
        compare_masks, mask_record, record_mask)
    mask = OneLabel(0).make_mask(TASKS, 10)
    ids = [str(i) for i in range(10)]
    record = mask_record(mask, TASKS, ids, 'OneLabel(seed=0)')
    assert np.array_equal(record_mask(record), mask)
    # a reordering of the columns is the same labelling
    order = [2, 0, 1]
    same = mask_record(mask[:, order], [TASKS[i] for i in order], ids, 'x')
    assert compare_masks(record, same) is None
    other = mask_record(OneLabel(1).make_mask(TASKS, 10), TASKS, ids, 'y')
    assert 'images have other labels' in compare_masks(record, other)


def test_checkpoint_records_the_mask(seed0_run):
    from mtlpartial.datasets.hooks.save_label_mask_hook import record_mask
    ckpt = torch.load(osp.join(seed0_run, 'epoch_2.pth'), weights_only=True)
    saved = load_mask(osp.join(seed0_run, 'label_mask.npz'))
    assert np.array_equal(record_mask(ckpt['label_mask']), saved.mask)
    assert ckpt['label_mask']['task_names'] == list(TASKS)


def test_resume_with_another_mask_is_refused(seed0_run, tmp_path):
    work = shutil.copytree(seed0_run, str(tmp_path / 'w'))
    before = open(osp.join(work, 'label_mask.npz'), 'rb').read()
    with pytest.raises(RuntimeError, match=r"resume refused: the label mask "
                       r"differs.*'seed': 0.*'seed': 1.*images have other "
                       'labels.*--allow-mask-change'):
        train(tiny_cfg(work, 3, SEED1), resume=True)
    # the record of the run is untouched
    assert open(osp.join(work, 'label_mask.npz'), 'rb').read() == before


def test_allowed_mask_change_keeps_the_old_record(seed0_run, tmp_path,
                                                  capsys):
    work = shutil.copytree(seed0_run, str(tmp_path / 'w'))
    old = load_mask(osp.join(work, 'label_mask.npz')).mask
    cfg = tiny_cfg(work, 3, SEED1)
    cfg.log_level = 'INFO'
    for hook in cfg.custom_hooks:
        if hook['type'] == 'SaveLabelMaskHook':
            hook['allow_mask_change'] = True
    train(cfg, resume=True)
    out = capsys.readouterr().out
    assert 'allow_mask_change=True: resuming with another label mask' in out
    kept = [f for f in os.listdir(work)
            if f.startswith('label_mask.') and f != 'label_mask.npz']
    assert len(kept) == 1 and f'kept as {osp.join(work, kept[0])}' in out
    assert np.array_equal(load_mask(osp.join(work, kept[0])).mask, old)
    new = load_mask(osp.join(work, 'label_mask.npz')).mask
    assert not np.array_equal(new, old)


def test_new_run_in_a_used_work_dir_keeps_the_old_record(seed0_run,
                                                         tmp_path):
    work = shutil.copytree(seed0_run, str(tmp_path / 'w'))
    train(tiny_cfg(work, 1, SEED1))  # not a resume: a new run
    names = sorted(f for f in os.listdir(work) if f.startswith('label_mask'))
    assert len(names) == 2, names
