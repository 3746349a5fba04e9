# Copyright (c) mtlpartial contributors. All rights reserved.
"""tools/misc/resolved_configs.py: dumps and compares resolved configs."""

from tests.utils.tool_modules import load_tool as _load


def load_tool():
    return _load('tools/misc/resolved_configs.py')


def write_tree(root, child):
    (root / 'configs' / '_base_').mkdir(parents=True)
    (root / 'configs' / 'm').mkdir()
    (root / 'configs' / '_base_' / 'base.py').write_text(
        "model = dict(type='M', tasks=[dict(name='a')], size=(1, 2))\n"
        "train_cfg = dict(max_epochs=3)\n"
        "train_dataloader = dict(batch_size=2, dataset=dict(\n"
        "    partial_labels=dict(type='OneLabel', seed=0)))\n"
        "optim_wrapper = dict(optimizer=dict(lr=0.1))\n"
        "val_evaluator = dict(type='E', tasks=[dict(name='a')])\n")
    (root / 'configs' / 'm' / 'c.py').write_text(
        "_base_ = ['../_base_/base.py']\n" + child)


def test_compare_finds_runner_key_changes_only(tmp_path, capsys):
    tool = load_tool()
    write_tree(tmp_path / 'old', 'helper = 1\n')
    write_tree(tmp_path / 'new', "helper = 2\nmodel = dict(size=[1, 2])\n")
    write_tree(tmp_path / 'same', "helper = 2\nextra = dict(a=1)\n")
    for name in ('old', 'new', 'same'):
        assert tool.dump(str(tmp_path / f'{name}.json'),
                         str(tmp_path / name)) == 0
    old, new, same = (str(tmp_path / f'{n}.json')
                      for n in ('old', 'new', 'same'))
    capsys.readouterr()
    # a tuple that became a list is a change of a runner key
    assert tool.compare(old, new, runner=['model', 'train_cfg']) == 1
    out = capsys.readouterr().out
    assert "DIFF configs/m/c.py (plain): ['model.size']" in out
    # helper variables are reported, not failed
    assert tool.compare(old, same, runner=['model', 'train_cfg']) == 0
    out = capsys.readouterr().out
    assert "['extra (added)', 'helper']" in out and '0 with differences' in out


def test_allowed_removals_and_cfg_options(tmp_path, capsys):
    tool = load_tool()
    write_tree(tmp_path / 'old', '')
    write_tree(tmp_path / 'new', 'val_evaluator = dict(_delete_=True, '
               "type='E')\n")
    for name in ('old', 'new'):
        tool.dump(str(tmp_path / f'{name}.json'), str(tmp_path / name))
    old, new = str(tmp_path / 'old.json'), str(tmp_path / 'new.json')
    assert tool.compare(old, new, runner=['val_evaluator']) == 1
    assert tool.compare(old, new, allow=['val_evaluator.tasks'],
                        runner=['val_evaluator']) == 0
    # the second dump applies the documented --cfg-options overrides
    entry = tool.resolve(str(tmp_path / 'new' / 'configs' / 'm' / 'c.py'))
    assert entry['options']['model']['tasks'][0]['loss_weight'] == 2.0
    assert entry['options']['train_dataloader']['dataset'][
        'partial_labels'] == dict(type='OneLabel', seed=3)
