# Copyright (c) mtlpartial contributors. All rights reserved.
"""DeepLabv3 ASPP head as used by Auto-Lambda and DGR."""
from typing import Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mtlpartial.registry import MODELS
from ..layers import ConvNormAct
from .conv_head import select_input


def _cbr(cin: int, cout: int, k: int = 1, d: int = 1) -> ConvNormAct:
    """Conv (no bias) → BN → ReLU; PyTorch's default init, as
    torchvision's ``DeepLabHead`` of the official DGR code."""
    return ConvNormAct(cin, cout, k, padding=0 if k == 1 else d, dilation=d,
                       bias=False, norm_cfg=dict(type='BN'))


@MODELS.register_module()
class ASPPHead(BaseModule):
    """DeepLabv3 head: ASPP (1x1, three atrous 3x3, image pooling) → 1x1
    projection → Conv3x3-BN-ReLU → Conv1x1 classifier.

    This is the ``DeepLabHead(2048, C)`` of DGR/Auto-Lambda (rates 12, 24,
    36, 256 channels).

    Args:
        in_channels (int): input channels (2048 for ResNet-50-D8).
        out_channels (int): output channels (set from the task spec).
        channels (int): ASPP width. Defaults to 256.
        dilations (Sequence[int]): atrous rates. Defaults to (12, 24, 36).
        in_index (int): which backbone output to use. Defaults to -1.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 channels: int = 256,
                 dilations: Sequence[int] = (12, 24, 36),
                 in_index: int = -1,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.branches = nn.ModuleList([_cbr(in_channels, channels)] + [
            _cbr(in_channels, channels, 3, d) for d in dilations
        ])
        self.image_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), _cbr(in_channels, channels))
        self.project = _cbr(channels * (len(dilations) + 2), channels)
        self.bottleneck = _cbr(channels, channels, 3)
        self.cls = nn.Conv2d(channels, out_channels, 1)
        self.in_index = in_index

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        x = select_input(inputs, self.in_index)
        pooled = F.interpolate(
            self.image_pool(x), size=x.shape[-2:], mode='bilinear',
            align_corners=False)
        out = torch.cat([b(x) for b in self.branches] + [pooled], dim=1)
        return self.cls(self.bottleneck(self.project(out)))
