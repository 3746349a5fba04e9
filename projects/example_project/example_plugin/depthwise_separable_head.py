# Copyright (c) mtlpartial contributors. All rights reserved.
"""A light task head made of depthwise-separable convolutions."""
from typing import Sequence, Union

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mtlpartial.models.heads.conv_head import select_input
from mtlpartial.registry import MODELS


def separable_block(in_channels: int, out_channels: int, kernel_size: int,
                    dilation: int, norm: bool) -> nn.Sequential:
    """Depthwise ``k×k`` conv → [BN →] ReLU → pointwise 1x1 → [BN →] ReLU.

    The MobileNet (Howard et al. 2017) factorisation of a ``k×k`` conv:
    ``C·k² + C·C'`` weights instead of ``C·C'·k²``.
    """
    padding = dilation * (kernel_size - 1) // 2
    layers = [
        nn.Conv2d(in_channels, in_channels, kernel_size, padding=padding,
                  dilation=dilation, groups=in_channels, bias=not norm)
    ]
    if norm:
        layers.append(nn.BatchNorm2d(in_channels))
    layers += [nn.ReLU(inplace=True),
               nn.Conv2d(in_channels, out_channels, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


@MODELS.register_module()
class DepthwiseSeparableConvHead(BaseModule):
    """``num_convs`` depthwise-separable blocks → Conv1x1 classifier.

    A drop-in replacement of :class:`mtlpartial.models.ConvHead` (same
    constructor arguments and ``forward``) with fewer parameters and FLOPs
    per unit of receptive field, so more (or dilated) layers fit the same
    budget: with ``in_channels=channels=C`` each block costs ``C·(k² + C)``
    weights against ``C²·k²`` for a ``k×k`` conv.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels (set by the model from the task
            spec).
        channels (int, optional): hidden channels. Defaults to
            ``in_channels``.
        num_convs (int): depthwise-separable blocks before the classifier.
            Defaults to 2.
        kernel_size (int): odd depthwise kernel size. Defaults to 3.
        dilation (int): dilation of the depthwise convs. Defaults to 1.
        norm (bool): BN after the depthwise and the pointwise convs.
            Defaults to True.
        in_index (int): which backbone output to use. Defaults to -1.
        init_cfg (dict | list[dict], optional): mmengine init config.
            Defaults to Kaiming convs and unit BN.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 channels: int = None,
                 num_convs: int = 2,
                 kernel_size: int = 3,
                 dilation: int = 1,
                 norm: bool = True,
                 in_index: int = -1,
                 init_cfg=None) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d', nonlinearity='relu'),
                dict(type='Constant', layer='BatchNorm2d', val=1., bias=0.)
            ]
        super().__init__(init_cfg=init_cfg)
        for key, value in (('in_channels', in_channels),
                           ('out_channels', out_channels),
                           ('dilation', dilation)):
            if int(value) < 1:
                raise ValueError(f'{type(self).__name__}: {key} must be >= 1,'
                                 f' got {value}')
        if num_convs < 0:
            raise ValueError(f'{type(self).__name__}: num_convs must be >= 0,'
                             f' got {num_convs}')
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'{type(self).__name__}: kernel_size must be a '
                             f'positive odd number, got {kernel_size}')
        channels = channels or in_channels
        blocks = []
        c = in_channels
        for _ in range(num_convs):
            blocks.append(
                separable_block(c, channels, kernel_size, dilation, norm))
            c = channels
        self.blocks = nn.Sequential(*blocks)
        self.classifier = nn.Conv2d(c, out_channels, 1)
        self.in_channels = in_channels
        self.in_index = in_index

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        x = select_input(inputs, self.in_index)
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__}: expected a (N, {self.in_channels}, '
                f'H, W) feature map at in_index={self.in_index}, got '
                f'{tuple(x.shape)}')
        return self.classifier(self.blocks(x))
