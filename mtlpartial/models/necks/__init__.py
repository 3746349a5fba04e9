# Copyright (c) mtlpartial contributors. All rights reserved.
from .multiscale_fusion import MultiScaleFusionNeck

__all__ = ['MultiScaleFusionNeck']
