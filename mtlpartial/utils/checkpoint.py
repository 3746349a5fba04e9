# Copyright (c) mtlpartial contributors. All rights reserved.
"""Checkpoint loading with ``weights_only=True`` on torch >= 2.6.

mmengine 0.10.7 calls ``torch.load(filename, map_location=...)``. Since torch
2.6 that means ``weights_only=True``, which refuses the mmengine objects a
Runner checkpoint holds (``HistoryBuffer``, numpy scalars, ``ConfigDict``
...). We never turn ``weights_only`` off. Instead
:func:`register_safe_globals` adds an explicit allow-list of the types that a
Runner checkpoint contains via ``torch.serialization.add_safe_globals``.
Anything else still fails loudly.
"""
import collections
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
