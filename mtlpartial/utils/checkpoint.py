# Copyright (c) mtlpartial contributors. All rights reserved.
"""Checkpoint loading with ``weights_only=True`` on torch >= 2.6.

mmengine 0.10.7 calls ``torch.load(filename, map_location=...)``. Since torch
2.6 that means ``weights_only=True``, which refuses the mmengine objects a
Runner checkpoint holds (``HistoryBuffer``, numpy scalars, ``ConfigDict``
...). We never turn ``weights_only`` off. Instead
:func:`register_safe_globals` adds an explicit allow-list of the types that a
Runner checkpoint contains via ``torch.serialization.add_safe_globals``.
Anything else still fails loudly.

:func:`install_local_checkpoint_loader` replaces mmengine's loader of local
paths with :func:`load_from_local`: the same ``torch.load`` with
``weights_only=True`` (explicit, whatever the torch default), plus errors
that name the file and say what is wrong with it (an empty file, a file that
is not a torch checkpoint, a truncated one) instead of a bare ``EOFError``.
"""
import collections
import os
import os.path as osp
import pickle
import zipfile
from typing import List

import numpy as np
import torch

_registered = {'done': False}


def safe_globals() -> List:
    """The allow-list of globals found in mmengine Runner checkpoints."""
    from mmengine.config import ConfigDict
    from mmengine.logging.history_buffer import HistoryBuffer
    from mmengine.logging.message_hub import MessageHub  # noqa: F401
    allowed = [
        HistoryBuffer, ConfigDict, collections.OrderedDict,
        collections.defaultdict, np.ndarray, np.dtype, np.generic,
        np.core.multiarray._reconstruct if hasattr(np, 'core') else None,
        getattr(np, 'dtypes', None) and np.dtypes.Float64DType,
    ]
    # numpy scalar types and dtype classes used by HistoryBuffer/log_scalars
    for name in ('float64', 'float32', 'float16', 'int64', 'int32', 'int8',
                 'uint8', 'bool_'):
        allowed.append(getattr(np, name))
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in dir(dtypes):
            if name.endswith('DType'):
                allowed.append(getattr(dtypes, name))
    try:  # numpy >= 2 moved the reconstruct helpers
        from numpy._core.multiarray import _reconstruct, scalar
        allowed += [_reconstruct, scalar]
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
        allowed += [_reconstruct, scalar]
    return [a for a in allowed if a is not None]


def history_buffer_getattr(obj, name: str):
    """A restricted ``getattr`` for unpickling mmengine ``HistoryBuffer``.

    ``HistoryBuffer`` pickles its ``statistics_methods`` as
    ``getattr(HistoryBuffer, 'min')`` etc. Allowing the builtin ``getattr``
    would let a malicious checkpoint walk to arbitrary objects
    (``__init__.__globals__`` ...), so the allow-list maps the pickled
    ``builtins.getattr`` to this function, which only resolves public
    methods defined on ``HistoryBuffer`` itself.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    member = vars(HistoryBuffer).get(name)
    if obj is HistoryBuffer and not name.startswith('_') and \
            callable(member):
        return getattr(obj, name)
    raise RuntimeError(f'checkpoint refused: getattr({obj!r}, {name!r}) is '
                       'not an allowed global in mtlpartial safe loading')


def register_safe_globals() -> None:
    """Register :func:`safe_globals` with torch (idempotent)."""
    if _registered['done']:
        return
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(safe_globals())
        add([(history_buffer_getattr, name)
             for name in ('builtins.getattr', '__builtin__.getattr')])
        add([(bytes, name)
             for name in ('builtins.bytes', '__builtin__.bytes')])
    _registered['done'] = True


def load_from_local(filename: str, map_location=None):
    """Load a local checkpoint with ``weights_only=True`` and clear errors.

    Args:
        filename (str): path of the checkpoint.
        map_location: see :func:`torch.load`.

    Returns:
        The loaded object (usually a dict with ``state_dict`` and ``meta``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: an empty, truncated or non-torch file (names the file).
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    size = os.path.getsize(filename)
    if size == 0:
        raise ValueError(
            f'checkpoint {filename} is empty (0 bytes): an interrupted copy '
            'or download? mtlpartial writes checkpoints atomically, so the '
            'other checkpoints of the run (last_checkpoint, epoch_*.pth) '
            'are intact; pass one of them')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except (EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f'checkpoint {filename} ({size} bytes) is truncated'
                         f' or corrupt: {type(e).__name__}: {e}') from e
    except (pickle.UnpicklingError, KeyError) as e:
        if 'Weights only load failed' in str(e):
            raise  # torch's own message names the refused global
        raise ValueError(f'checkpoint {filename} ({size} bytes) is not a '
                         f'torch checkpoint: {e}') from e
    except RuntimeError as e:
        if 'zip archive' in str(e) or 'central directory' in str(e):
            raise ValueError(f'checkpoint {filename} ({size} bytes) is '
                             f'truncated or corrupt: {e}') from e
        raise


def install_local_checkpoint_loader() -> None:
    """Make :func:`load_from_local` mmengine's loader of local paths
    (``CheckpointLoader`` scheme ``''``; idempotent)."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
