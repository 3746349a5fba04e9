# Copyright (c) mtlpartial contributors. All rights reserved.
"""tools/train.py on command-line mistakes (issue 12, case 10)."""
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'supervised', 'synthetic_onelabel.py')


def test_train_tool_on_typo_dict_value_and_nothing_to_resume(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    work = str(tmp_path / 'never_trained')
    res = subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir', work,
         '--resume', '--cfg-options', 'randomnes.seed=5',
         'train_dataloader.dataset.partial_labels=dict(type=OneLabel,seed=1)'],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert 'RecursionError' not in out  # the dict value was parsed
    assert "'randomnes' is not a key of the config" in out
    assert "did you mean 'randomness'" in out
    # not "resumed from ... None" and a run from scratch
    assert f'--resume: nothing to resume in the work dir {work}' in out
    assert not osp.exists(osp.join(work, 'epoch_1.pth'))
