# Copyright (c) mtlpartial contributors. All rights reserved.
"""tools/dist_train.sh on CPU (gloo): 2 "nodes" x 1 process on loopback,
with NNODES / NODE_RANK / MASTER_ADDR / PORT passed through to torchrun."""
import os
import os.path as osp
import shutil
import socket
import subprocess

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = [
    'train_cfg.max_epochs=1', 'train_dataloader.dataset.num_images=16',
    'val_dataloader.dataset.num_images=8', 'train_dataloader.batch_size=4',
    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.persistent_workers=False',
    'model.backbone.filters=[8,8,8,8,8]', 'model.heads.in_channels=8'
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which('torchrun') is None, reason='no torchrun')
def test_two_nodes_one_process_each_on_loopback(tmp_path):
    port = str(free_port())
    procs = []
    for node in range(2):
        env = dict(os.environ, NNODES='2', NODE_RANK=str(node),
                   MASTER_ADDR='127.0.0.1', PORT=port)
        env.pop('PYTHONPATH', None)
        log = open(tmp_path / f'node{node}.log', 'w')
        procs.append((subprocess.Popen(
            ['bash', 'tools/dist_train.sh',
             'configs/supervised/synthetic_onelabel.py', '1', '--work-dir',
             str(tmp_path / f'work{node}'), '--cfg-options', *TINY],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log))
    for proc, log in procs:
        proc.wait(timeout=600)
        log.close()
    logs = [(tmp_path / f'node{n}.log').read_text() for n in range(2)]
    assert [p.returncode for p, _ in procs] == [0, 0], logs[0][-3000:]
    # the world size and the backend in use, stated plainly (was "GPU
    # number: 2" next to the configured backend 'nccl')
    assert 'world size 2 (gloo, cpu), launcher pytorch' in logs[0]
    assert "env_cfg.dist_cfg.backend='nccl' is not used" in logs[0]
    assert 'GPU number' not in logs[0]
    # rank 0 (node 0) writes the checkpoint
    assert osp.isfile(tmp_path / 'work0' / 'epoch_1.pth')
