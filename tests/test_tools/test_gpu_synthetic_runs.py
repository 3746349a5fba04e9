# Copyright (c) mtlpartial contributors. All rights reserved.
"""tools/analysis_tools/gpu_synthetic_runs.sh on CPU: a lane stopped at
its deadline, then finished by a second call, and what comes back."""
import json
import os.path as osp
import subprocess
import sys
import tarfile

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'analysis_tools', 'gpu_synthetic_runs.sh')
TINY = ('train_cfg.max_epochs=1 train_cfg.val_interval=1 '
        'train_dataloader.batch_size=4 '
        'train_dataloader.dataset.num_images=8 '
        'val_dataloader.dataset.num_images=4 '
        'test_dataloader.dataset.num_images=4')


def call(seconds, tmp_path, out):
    out.mkdir()
    env = dict(OUT=str(out), SYNTHETIC_WORK=str(tmp_path / 'work'),
               MTLPARTIAL_COMMIT='abc1234', OMP_NUM_THREADS='1',
               PATH=osp.dirname(sys.executable) + ':/usr/bin:/bin')
    lane = (f'--runs {tmp_path}/runs/page --methods supervised --settings '
            f'onelabel --seeds 0 --jobs 1 --extra-options {TINY}')
    subprocess.run(['bash', SCRIPT, str(seconds), str(tmp_path / 'runs'),
                    lane], cwd=REPO, env=env, check=True,
                   capture_output=True)
    with tarfile.open(out / 'runs.tar.gz') as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()
                if m.isfile()}


def test_deadline_stops_the_lane_and_a_second_call_finishes_it(tmp_path):
    # stopped at its deadline: no summary yet, its log comes back
    assert call(0, tmp_path, tmp_path / 'out1') == {}
    assert (tmp_path / 'out1' / 'run_logs.tar.gz').is_file()
    assert 'summaries: 0' in (tmp_path / 'out1' / 'lanes.log').read_text()
    # the next call on the same machine trains it to the end
    files = call(600, tmp_path, tmp_path / 'out2')
    summary = json.loads(files['./page/onelabel/supervised/seed0.json'])
    # the checkout's commit (MTLPARTIAL_COMMIT where there is no .git)
    assert summary['commit'] != 'unknown' and summary['device']
    assert not any(name.endswith('.lock') for name in files)
    with tarfile.open(tmp_path / 'out2' / 'run_logs.tar.gz') as tar:
        assert './onelabel/supervised/seed0/run.log' in tar.getnames()


def test_bad_arguments_stop_with_the_usage(tmp_path):
    env = dict(OUT=str(tmp_path), PATH='/usr/bin:/bin')
    for args, message in ((['10', str(tmp_path)], 'no lane given'),
                          (['5m', str(tmp_path), '--seeds 0'],
                           "whole seconds, got '5m'")):
        done = subprocess.run(['bash', SCRIPT, *args], env=env,
                              capture_output=True, text=True)
        assert done.returncode == 2 and message in done.stderr
