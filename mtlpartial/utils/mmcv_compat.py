# Copyright (c) mtlpartial contributors. All rights reserved.
"""An explicit, logged compatibility layer for ``mmcv-lite``.

``mmcv-lite`` ships no compiled ops (``mmcv._ext``). mmsegmentation 1.2.2
imports ``mmcv.ops.point_sample`` unconditionally (``mmseg/utils/
mask_classification.py``), so ``import mmseg.models`` fails on CPU-only
installs. :func:`install_mmcv_ops_fallback` puts a minimal ``mmcv.ops``
module into ``sys.modules`` that exposes the pure-PyTorch ops and raises a
clear error for every compiled op. It is used **only** when ``import
mmcv.ops`` fails, and it logs one INFO line when it is activated, so full mmcv
is always preferred when it is installed.
"""
import importlib.util
import logging
import os.path as osp
import sys
import types
from typing import Callable, List

from mmengine.logging import print_log

#: compiled ops that mmseg 1.2.2 references; each becomes a clear error.
COMPILED_OPS: List[str] = [
    'sigmoid_focal_loss', 'softmax_focal_loss', 'CrissCrossAttention',
    'PSAMask', 'DeformConv2d', 'ModulatedDeformConv2d',
    'ModulatedDeformConv2dPack', 'DeformConv2dPack', 'CARAFEPack', 'nms',
    'batched_nms', 'RoIAlign', 'roi_align', 'MultiScaleDeformableAttention'
]

_state = {'active': None}


def _missing_op(name: str) -> Callable:

    def _raise(*args, **kwargs):
        raise RuntimeError(
            f'mmcv op `{name}` needs the compiled mmcv extension, but only '
            'mmcv-lite is installed (mtlpartial mmcv compat layer is '
            'active). Install full mmcv (see README "GPU install") to use '
            'it.')

    _raise.__name__ = name
    return _raise


def _load_pure_module(mmcv_dir: str, name: str) -> types.ModuleType:
    path = osp.join(mmcv_dir, 'ops', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'mmcv.ops.{name}', path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[f'mmcv.ops.{name}'] = module
    spec.loader.exec_module(module)
    return module


def mmcv_ops_available() -> bool:
    """Whether the compiled ``mmcv.ops`` import works (full mmcv)."""
    if _state['active']:
        return False
    try:
        import mmcv.ops  # noqa: F401
        return True
    except (ImportError, OSError):
        for key in [k for k in sys.modules if k.startswith('mmcv.ops')]:
            del sys.modules[key]
        return False


def install_mmcv_ops_fallback() -> bool:
    """Install the ``mmcv.ops`` fallback if the compiled ops are missing.

    Returns:
        bool: True if the fallback is active (mmcv-lite), False if the real
        compiled ``mmcv.ops`` is used.
    """
    if _state['active'] is not None:
        return _state['active']
    if mmcv_ops_available():
        _state['active'] = False
        return False
    import mmcv
    mmcv_dir = osp.dirname(mmcv.__file__)
    ops = types.ModuleType('mmcv.ops')
    ops.__path__ = [osp.join(mmcv_dir, 'ops')]
    ops.__doc__ = 'mtlpartial fallback for mmcv.ops (compiled ops missing)'
    ops.MTLPARTIAL_FALLBACK = True
    sys.modules['mmcv.ops'] = ops
    mmcv.ops = ops
    point_sample = _load_pure_module(mmcv_dir, 'point_sample')
    ops.point_sample = point_sample.point_sample
    ops.bilinear_grid_sample = point_sample.bilinear_grid_sample
    for name in COMPILED_OPS:
        setattr(ops, name, _missing_op(name))
    _state['active'] = True
    # one line at INFO: an expected state of CPU installs, not a problem
    print_log(
        'mtlpartial: mmcv-lite (no compiled mmcv ops): pure-PyTorch '
        'point_sample in use; compiled ops raise a clear error if called',
        logger='current',
        level=logging.INFO)
    return True


def mmcv_compat_active() -> bool:
    """Whether the fallback layer has been installed."""
    return bool(_state['active'])
