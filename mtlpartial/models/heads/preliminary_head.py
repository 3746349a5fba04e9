# Copyright (c) mtlpartial contributors. All rights reserved.
"""The preliminary decoder + head of DiffusionMTL."""
from typing import Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mtlpartial.registry import MODELS
from .conv_head import select_input


@MODELS.register_module()
class PreliminaryHead(BaseModule):
    """``num_blocks`` ResNet basic blocks → 1x1 conv (official
    ``preliminary_dec`` + ``preliminary_head``: two blocks at the fused
    width).

    ``forward`` returns the raw prediction (so the head also works wherever
    a plain head does, e.g. DGR's dummy heads); :meth:`forward_features`
    also returns the decoder feature that Feature Diffusion diffuses.

    Args:
        in_channels (int): input channels.
        out_channels (int): prediction channels (set by the model).
        channels (int, optional): decoder width; defaults to
            ``in_channels`` (a 1x1 conv + norm projection otherwise).
        num_blocks (int): basic blocks. Defaults to 2.
        norm_cfg (dict): norm layer. Defaults to BN.
        in_index (int): which neck/backbone output to read. Defaults to -1.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 channels: Optional[int] = None,
                 num_blocks: int = 2,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 in_index: int = -1,
                 init_cfg: Optional[dict] = None) -> None:
        # imported here: importing mmseg costs seconds, mtlpartial.models
        # does not import it otherwise
        from mmseg.models.backbones.resnet import BasicBlock
        super().__init__(init_cfg=init_cfg)
        if num_blocks < 1:
            raise ValueError(f'PreliminaryHead: num_blocks must be >= 1, '
                             f'got {num_blocks}')
        self.channels = channels or in_channels
        self.in_index = in_index
        blocks = []
        for i in range(num_blocks):
            downsample = None
            if i == 0 and in_channels != self.channels:
                downsample = nn.Sequential(
                    nn.Conv2d(in_channels, self.channels, 1, bias=False),
                    build_norm_layer(norm_cfg, self.channels)[1])
            blocks.append(
                BasicBlock(in_channels if i == 0 else self.channels,
                           self.channels, downsample=downsample,
                           norm_cfg=norm_cfg))
        self.decoder = nn.Sequential(*blocks)
        self.conv_seg = nn.Conv2d(self.channels, out_channels, 1)

    def forward_features(self, inputs: Union[Tensor, Sequence[Tensor]]
                         ) -> Tuple[Tensor, Tensor]:
        """``(decoder feature, raw prediction)``."""
        feat = self.decoder(select_input(inputs, self.in_index))
        return feat, self.conv_seg(feat)

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        return self.forward_features(inputs)[1]
