# Copyright (c) mtlpartial contributors. All rights reserved.
from .aspp_head import ASPPHead
from .conv_head import ConvHead
from .mmseg_head_adapter import MMSegHeadAdapter
from .preliminary_head import PreliminaryHead

__all__ = ['ConvHead', 'ASPPHead', 'MMSegHeadAdapter', 'PreliminaryHead']
