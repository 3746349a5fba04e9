# Copyright (c) mtlpartial contributors. All rights reserved.
from .scene_renderer import *  # noqa: F401,F403
from .scene_renderer import __all__ as _renderer_all

__all__ = list(_renderer_all)
