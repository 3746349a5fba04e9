# Copyright (c) mtlpartial contributors. All rights reserved.
"""Light task heads: the MTAN SegNet head and a generic conv head."""
from typing import Sequence, Union

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mtlpartial.registry import MODELS
from ..layers import XAVIER_CONV_INIT, ConvNormAct


def select_input(inputs: Union[Tensor, Sequence[Tensor]],
                 in_index: int) -> Tensor:
    """Pick the feature map a head consumes from the backbone outputs."""
    if isinstance(inputs, Tensor):
        return inputs
    return inputs[in_index]


@MODELS.register_module()
class ConvHead(BaseModule):
    """``num_convs`` × (Conv3x3 [→ BN → ReLU]) → Conv1x1 head.

    With ``num_convs=1, norm=False`` it is exactly the MTAN/MTPSL/JTR SegNet
    head: ``Conv3x3(C, C) → Conv1x1(C, out)`` with no BN/ReLU in between.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels (set by the model from the task
            spec).
        channels (int, optional): hidden channels. Defaults to
            ``in_channels``.
        num_convs (int): 3x3 convs before the classifier. Defaults to 1.
        norm (bool): insert BN + ReLU after each 3x3 conv. Defaults to
            False (MTAN head).
        in_index (int): which backbone output to use. Defaults to -1.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 channels: int = None,
                 num_convs: int = 1,
                 norm: bool = False,
                 in_index: int = -1,
                 init_cfg=XAVIER_CONV_INIT) -> None:
        super().__init__(init_cfg=init_cfg)
        channels = channels or in_channels
        layers = []
        c = in_channels
        for _ in range(num_convs):
            layers.append(
                ConvNormAct(c, channels, 3, padding=1, bias=False,
                            norm_cfg=dict(type='BN')) if norm else
                nn.Conv2d(c, channels, 3, padding=1))
            c = channels
        layers.append(nn.Conv2d(c, out_channels, 1))
        self.layers = nn.Sequential(*layers)
        self.in_index = in_index

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        return self.layers(select_input(inputs, self.in_index))
