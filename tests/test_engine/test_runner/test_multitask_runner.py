# Copyright (c) mtlpartial contributors. All rights reserved.
"""A console that says what matters (issue 12, case 11), and strict
checkpoint loading in tools/test.py (case 6)."""
import importlib.util
import json
import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope

from mtlpartial.registry import MODELS, RUNNERS
from tests.utils.tiny_runs import ROOT, tiny_cfg, train
from tests.utils.tiny_runs import release_logger_streams  # noqa: F401


def build(work_dir, **options):
    cfg = tiny_cfg(str(work_dir), 1, options)
    cfg.log_level = 'INFO'
    cfg.experiment_name = osp.basename(str(work_dir))
    return RUNNERS.build(cfg)


def test_console_states_the_setup_in_one_line(tmp_path, capsys):
    from mtlpartial.engine.runner import MultiTaskRunner
    runner = build(tmp_path / 'console')
    assert isinstance(runner, MultiTaskRunner)
    # a notice mmengine raises about its own internals on every run
    from mmengine.fileio import FileClient
    FileClient(backend='disk')
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if 'world size' in line]
    assert len(lines) == 1
    assert 'world size 1 (not distributed, ' in lines[0]
    assert f'config written to {tmp_path}/console/synthetic_onelabel.py' \
        in lines[0]
    assert osp.isfile(tmp_path / 'console' / 'synthetic_onelabel.py')
    for hidden in ('GPU number', 'System environment', 'Config:',
                   'Hooks will be executed', 'FileClient'):
        assert hidden not in out, hidden
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    for kept in ('System environment', 'Config:', 'Hooks will be executed',
                 'distributed setup: world size 1'):
        assert kept in log, kept
    assert 'GPU number' not in log and 'FileClient' not in log


def load_test_tool():
    spec = importlib.util.spec_from_file_location(
        'test_tool', osp.join(ROOT, 'tools', 'test.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TINY_TEST = [
    'test_dataloader.dataset.num_images=2', 'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'model.backbone.filters=[8,8,8,8,8]', 'model.heads.in_channels=8'
]


def test_test_tool_loads_checkpoints_strictly(tmp_path, monkeypatch,
                                              capsys):
    tool = load_test_tool()
    init_default_scope('mtlpartial')
    # the weights of another model: a wider last encoder stage
    other = MODELS.build(dict(tiny_cfg(str(tmp_path), 1).model,
                              backbone=dict(type='MTANSegNet',
                                            filters=(8, 8, 8, 8, 16))))
    path = str(tmp_path / 'other.pth')
    torch.save(dict(state_dict=other.state_dict(), meta=dict()), path)
    argv = ['test.py', osp.join(ROOT, 'configs', 'supervised',
                                'synthetic_onelabel.py'), path,
            '--work-dir', str(tmp_path / 'work'), '--cfg-options',
            *TINY_TEST]
    monkeypatch.setattr('sys.argv', argv)
    # was: "size mismatch" below warning level, a random head evaluated
    with pytest.raises(RuntimeError, match=r'(?s)other.pth does not match '
                       r'the model of the config.*size mismatch.*'
                       '--non-strict'):
        tool.main()
    monkeypatch.setattr('sys.argv', argv[:3] + ['--non-strict'] + argv[3:])
    tool.main()
    out = capsys.readouterr().out
    assert '--non-strict: weights of' in out and 'WARNING' in out
    assert out.count('Multi-task metrics:') == 1


def test_test_tool_evaluates_a_checkpoint_with_ema_hook(tmp_path,
                                                        monkeypatch):
    """A config with mmengine's EMAHook tests: the hook builds its average
    in before_run, so the checkpoint's hooks must run after it (loading
    before runner.test() raised AttributeError: no 'ema_model')."""
    tool = load_test_tool()
    ema = dict(default_hooks=dict(
        ema=dict(type='EMAHook', momentum=0.5, update_buffers=True)))
    cfg = tiny_cfg(str(tmp_path / 'train'), 1, options=ema)
    train(cfg)
    cfg.dump(str(tmp_path / 'ema.py'))
    cfg.default_hooks.pop('ema')
    cfg.dump(str(tmp_path / 'no_ema.py'))
    ckpt = str(tmp_path / 'train' / 'epoch_1.pth')
    metrics = {}
    for name in ('ema', 'no_ema'):
        out = str(tmp_path / f'{name}.json')
        monkeypatch.setattr('sys.argv', [
            'test.py', str(tmp_path / f'{name}.py'), ckpt, '--work-dir',
            str(tmp_path / name), '--out', out, '--cfg-options',
            *TINY_TEST[:3]])
        tool.main()
        with open(out) as f:
            metrics[name] = json.load(f)
    # the checkpoint's state_dict holds the averaged weights (EMAHook swaps
    # them in when saving), so both evaluate the same model
    assert metrics['ema'] == metrics['no_ema']
    assert 'semseg/mIoU' in metrics['ema']
