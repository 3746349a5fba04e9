# Copyright (c) mtlpartial contributors. All rights reserved.
from .aspp_head import ASPPHead
from .conv_head import ConvHead
from .mmseg_head_adapter import MMSegHeadAdapter

__all__ = ['ConvHead', 'ASPPHead', 'MMSegHeadAdapter']
