# Copyright (c) mtlpartial contributors. All rights reserved.
from .mtan_segnet import MTANSegNet

__all__ = ['MTANSegNet']
