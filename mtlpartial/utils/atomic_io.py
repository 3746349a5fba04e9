# Copyright (c) mtlpartial contributors. All rights reserved.
"""Atomic writes for checkpoints and other run files.

mmengine's ``LocalBackend.put`` opens the destination with ``'wb'`` and
writes into it, so an interrupted save (pre-emption, OOM kill, full disk)
leaves a truncated ``epoch_N.pth`` or ``last_checkpoint``. mtlpartial
re-registers the ``local`` backend with :class:`AtomicLocalBackend`, which
writes to a temporary file in the same directory, fsyncs it and renames it
over the destination (``os.replace`` is atomic on POSIX). A reader sees the
old file or the new one, never a partial one.
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

import mmengine
from mmengine.fileio.backends import LocalBackend, register_backend


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` atomically (temp file + rename)."""
    filepath = str(filepath)
    directory = osp.dirname(osp.abspath(filepath))
    mmengine.mkdir_or_exist(directory)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(filepath)}.', suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class AtomicLocalBackend(LocalBackend):
    """:class:`LocalBackend` whose writes are atomic."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), filepath)


_state = {'installed': False}


def install_atomic_local_backend() -> None:
    """Make ``AtomicLocalBackend`` the backend of local paths (idempotent)."""
    if _state['installed']:
        return
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    _state['installed'] = True
