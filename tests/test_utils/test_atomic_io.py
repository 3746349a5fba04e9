# Copyright (c) mtlpartial contributors. All rights reserved.
"""Checkpoint files: umask permissions, stale temp files (issue 12, 9)."""
import os
import re
import socket
import stat
import subprocess
import sys

import pytest
import torch

from mtlpartial.utils import atomic_io
from mtlpartial.utils.atomic_io import atomic_write_bytes

HOST = re.sub(r'\W', '_', socket.gethostname())


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, '-c', 'import os; print('
                           'os.getpid())'], capture_output=True, text=True)
    return int(proc.stdout)


@pytest.mark.parametrize('umask,mode', [(0o022, 0o644), (0o002, 0o664),
                                        (0o077, 0o600)])
def test_files_get_the_umask_permissions(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write_bytes(b'x', tmp_path / 'epoch_1.pth')
        # what mmengine's CheckpointHook writes through the local backend
        from mmengine.fileio import get_file_backend
        get_file_backend(str(tmp_path)).put(b'y', str(tmp_path / 'e2.pth'))
    finally:
        os.umask(old)
    for name in ('epoch_1.pth', 'e2.pth'):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == mode


def test_next_save_removes_temp_files_of_a_killed_save(tmp_path):
    stale = tmp_path / f'.epoch_3.pth.{HOST}-{dead_pid()}-0123abcd.tmp'
    stale.write_bytes(b'\0' * 4096)
    live = tmp_path / f'.epoch_3.pth.{HOST}-{os.getppid()}-0123abcd.tmp'
    live.write_bytes(b'\0')  # a live process (another run) is writing it
    other = tmp_path / '.epoch_3.pth.otherhost-1-0123abcd.tmp'
    other.write_bytes(b'\0')
    old_style = tmp_path / '.epoch_2.pth.Ab3_x9Zq.tmp'
    old_style.write_bytes(b'\0')
    atomic_write_bytes(b'x', tmp_path / 'epoch_4.pth')
    assert not stale.exists()
    assert live.exists() and other.exists() and old_style.exists()
    # on resume the run that wrote them is gone, whatever the host
    removed = atomic_io.remove_stale_temp_files(str(tmp_path),
                                                other_hosts=True)
    assert sorted(removed) == sorted([str(other), str(old_style)])
    assert live.exists()


def test_temp_name_is_recognised_as_ours(tmp_path):
    path = atomic_io.temp_path_for(str(tmp_path / 'epoch_1.pth'))
    name = os.path.basename(path)
    assert name.startswith('.epoch_1.pth.') and name.endswith('.tmp')
    assert f'-{os.getpid()}-' in name
    open(path, 'wb').close()
    # we are alive
    assert atomic_io.remove_stale_temp_files(str(tmp_path)) == []


def test_checkpoint_saved_by_torch_through_the_backend_loads(tmp_path):
    from mmengine.fileio import get_file_backend
    import io
    buffer = io.BytesIO()
    torch.save(dict(w=torch.ones(2)), buffer)
    get_file_backend(str(tmp_path)).put(buffer.getvalue(),
                                        str(tmp_path / 'c.pth'))
    assert torch.load(tmp_path / 'c.pth', weights_only=True)['w'].sum() == 2
