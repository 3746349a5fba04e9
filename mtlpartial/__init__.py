# Copyright (c) mtlpartial contributors. All rights reserved.
"""mtlpartial: multi-task dense prediction from partially labelled data."""
import mmcv
import mmengine
from mmengine.utils import digit_version

from .utils.atomic_io import install_atomic_local_backend
from .utils.checkpoint import (install_local_checkpoint_loader,
                               register_safe_globals)
from .utils.mmcv_compat import install_mmcv_ops_fallback
from .version import __version__, version_info

MMCV_MIN = '2.0.0rc4'
MMCV_MAX = '2.2.0'  # mmsegmentation 1.2.2 asserts mmcv < 2.2.0
MMENGINE_MIN = '0.10.0'
MMENGINE_MAX = '1.0.0'

mmcv_version = digit_version(mmcv.__version__)
mmengine_version = digit_version(mmengine.__version__)

assert (digit_version(MMCV_MIN) <= mmcv_version < digit_version(MMCV_MAX)), \
    f'MMCV=={mmcv.__version__} is used but incompatible. ' \
    f'Please install mmcv>={MMCV_MIN}, <{MMCV_MAX} ' \
    '(on CPU: pip install mmcv-lite==2.1.0).'
assert (digit_version(MMENGINE_MIN) <= mmengine_version <
        digit_version(MMENGINE_MAX)), \
    f'MMEngine=={mmengine.__version__} is used but incompatible. ' \
    f'Please install mmengine>={MMENGINE_MIN}, <{MMENGINE_MAX}.'

# Explicit compatibility and safety fixes; see the module docstrings.
install_mmcv_ops_fallback()
register_safe_globals()
install_local_checkpoint_loader()
install_atomic_local_backend()

__all__ = ['__version__', 'version_info']
