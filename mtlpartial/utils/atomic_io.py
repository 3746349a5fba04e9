# Copyright (c) mtlpartial contributors. All rights reserved.
"""Atomic writes for checkpoints and other run files.

mmengine's ``LocalBackend.put`` opens the destination with ``'wb'`` and
writes into it, so an interrupted save (pre-emption, OOM kill, full disk)
leaves a truncated ``epoch_N.pth`` or ``last_checkpoint``. mtlpartial
re-registers the ``local`` backend with :class:`AtomicLocalBackend`, which
writes to a temporary file in the same directory, fsyncs it and renames it
over the destination (``os.replace`` is atomic on POSIX). A reader sees the
old file or the new one, never a partial one.

The temporary file is created with mode ``0o666`` filtered by the process
umask, like a file opened with ``open(path, 'wb')``, so a checkpoint is as
readable as any other file of the run (``tempfile.mkstemp`` would create it
``0600``). Its name records the host and process that write it,
``.<name>.<host>-<pid>-<token>.tmp``; a save killed with SIGKILL leaves it
behind, and :func:`remove_stale_temp_files` (called before every atomic
write into the directory, and by ``ResumeCheckHook`` on resume) deletes the
ones whose writer is gone.
"""
import os
import os.path as osp
import re
import secrets
import socket
from pathlib import Path
from typing import List, Union

import mmengine
from mmengine.fileio.backends import LocalBackend, register_backend

#: ``.<target>.<host>-<pid>-<token>.tmp`` (this module), or the
#: ``.<target>.<8 chars>.tmp`` of ``tempfile.mkstemp`` (mtlpartial < 0.2).
_TEMP_RE = re.compile(r'^\.(?P<target>.+)\.(?:(?P<host>\w+)-(?P<pid>\d+)-'
                      r'[0-9a-f]{8}|[A-Za-z0-9_]{8})\.tmp$')


def _host() -> str:
    return re.sub(r'\W', '_', socket.gethostname()) or 'host'


def temp_path_for(filepath: str) -> str:
    """A fresh temporary path next to ``filepath`` (see module docstring)."""
    directory, name = osp.split(osp.abspath(filepath))
    token = secrets.token_hex(4)
    return osp.join(directory, f'.{name}.{_host()}-{os.getpid()}-{token}.tmp')


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temp_files(directory: str,
                            other_hosts: bool = False) -> List[str]:
    """Delete temporary files that an interrupted atomic write left behind.

    A temporary file is stale when the process that wrote it is no longer
    running on this host; files of a live process (another run writing into
    the same folder) are kept. Files written on another host are removed
    only with ``other_hosts=True`` (resuming a run: the run that wrote them
    is the one being resumed, so it is gone), as are the unattributed
    ``mkstemp`` names of older versions.

    Args:
        directory (str): the folder to clean (not recursive).
        other_hosts (bool): also remove files of other hosts and of older
            versions. Defaults to False.

    Returns:
        list[str]: the paths removed.
    """
    if not osp.isdir(directory):
        return []
    host = _host()
    removed = []
    for name in sorted(os.listdir(directory)):
        match = _TEMP_RE.match(name)
        if match is None:
            continue
        pid = match.group('pid')
        if pid is None or match.group('host') != host:
            stale = other_hosts
        else:
            stale = int(pid) != os.getpid() and not _pid_alive(int(pid))
        path = osp.join(directory, name)
        if stale and osp.isfile(path):
            try:
                os.remove(path)
            except FileNotFoundError:  # removed by another process
                continue
            removed.append(path)
    return removed


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` atomically (temp file + rename).

    Stale temporary files of earlier interrupted writes into the same folder
    are removed first (see :func:`remove_stale_temp_files`).
    """
    filepath = str(filepath)
    directory = osp.dirname(osp.abspath(filepath))
    mmengine.mkdir_or_exist(directory)
    remove_stale_temp_files(directory)
    tmp = temp_path_for(filepath)
    # 0o666 & ~umask, like open(path, 'wb'); O_EXCL: never reuse a file
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
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
