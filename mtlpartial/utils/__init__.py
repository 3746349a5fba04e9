# Copyright (c) mtlpartial contributors. All rights reserved.
from .checkpoint import register_safe_globals, safe_globals
from .mmcv_compat import install_mmcv_ops_fallback, mmcv_compat_active

__all__ = [
    'install_mmcv_ops_fallback', 'mmcv_compat_active',
    'register_safe_globals', 'safe_globals'
]
