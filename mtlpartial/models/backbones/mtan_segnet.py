# Copyright (c) mtlpartial contributors. All rights reserved.
"""The MTAN SegNet ("split/standard") used by MTPSL and JTR, from scratch."""
from typing import List, Sequence, Tuple

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mtlpartial.registry import MODELS
from ..layers import XAVIER_CONV_INIT, ConvNormAct


def conv_bn_relu(in_channels: int, out_channels: int) -> ConvNormAct:
    """Conv3x3 (bias) → BN → ReLU, the MTAN ``conv_layer``."""
    return ConvNormAct(in_channels, out_channels, 3, padding=1, bias=True,
                       norm_cfg=dict(type='BN'))


@MODELS.register_module()
class MTANSegNet(BaseModule):
    """Shared SegNet encoder-decoder of MTAN (Liu et al., CVPR 2019).

    Five encoder stages (each: one conv changing width, then 1, 1, 2, 2, 2
    more convs... exactly as MTAN: stage 0 and 1 have one extra conv, stages
    2-4 two), max-pooling with indices, and a mirrored decoder with
    max-unpooling. Trained from scratch with Xavier-normal init.

    Args:
        in_channels (int): input channels. Defaults to 3.
        filters (Sequence[int]): widths of the 5 stages. Defaults to
            (64, 128, 256, 512, 512) (the paper model, 288x384 input).
        init_cfg (dict, optional): mmengine init config. Defaults to
            Xavier-normal convs with zero bias.

    Returns (forward):
        tuple[Tensor, Tensor]: ``(bottleneck, decoder_out)``: the encoder
        output after the 5th max-pool (``filters[-1]`` channels at 1/32
        resolution; MTPSL's feature target) and the full-resolution decoder
        feature (``filters[0]`` channels) that task heads consume.
    """

    #: total stride: five 2x max-poolings floor odd sizes, so inputs must
    #: be divisible by 32 (``MultiTaskModel`` checks it; pad with
    #: ``data_preprocessor.size_divisor=32``).
    size_divisor = 32

    def __init__(self,
                 in_channels: int = 3,
                 filters: Sequence[int] = (64, 128, 256, 512, 512),
                 init_cfg=XAVIER_CONV_INIT) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(filters) != 5:
            raise ValueError(
                f'MTANSegNet needs 5 filter widths, got {filters}')
        f = list(filters)
        extra = [1, 1, 2, 2, 2]
        self.encoder_blocks = nn.ModuleList()
        self.decoder_blocks = nn.ModuleList()
        for i in range(5):
            c_in = in_channels if i == 0 else f[i - 1]
            layers = [conv_bn_relu(c_in, f[i])]
            layers += [conv_bn_relu(f[i], f[i]) for _ in range(extra[i])]
            self.encoder_blocks.append(nn.Sequential(*layers))
        for i in reversed(range(5)):
            c_out = f[0] if i == 0 else f[i - 1]
            layers = [conv_bn_relu(f[i], c_out)]
            layers += [conv_bn_relu(c_out, c_out) for _ in range(extra[i])]
            self.decoder_blocks.append(nn.Sequential(*layers))
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, 2)
        self.out_channels: Tuple[int, int] = (f[-1], f[0])

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        indices: List[Tensor] = []
        sizes = []
        for block in self.encoder_blocks:
            x = block(x)
            sizes.append(x.shape[-2:])
            x, idx = self.pool(x)
            indices.append(idx)
        bottleneck = x
        for j, block in enumerate(self.decoder_blocks):
            i = 4 - j
            x = self.unpool(x, indices[i], output_size=sizes[i])
            x = block(x)
        return bottleneck, x
