# Copyright (c) mtlpartial contributors. All rights reserved.
"""Multi-scale feature fusion of DiffusionMTL (official ``backbone_embed``)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mtlpartial.registry import MODELS


@MODELS.register_module()
class MultiScaleFusionNeck(BaseModule):
    """Resize backbone levels to one size, concatenate, 3x3 conv.

    The target size is ``floor(scale_factor * size of level ref_index)``;
    the official PASCAL model resizes the four ResNet-18 levels to half the
    stride-4 level (output stride 8) with bilinear ``align_corners=False``
    and fuses them with ``Conv3x3(960, 512)``.

    Args:
        in_channels (Sequence[int]): channels of the selected levels.
        out_channels (int): fused channels (official 512).
        in_index (Sequence[int], optional): backbone outputs to fuse;
            defaults to all, in order.
        ref_index (int): position (in the selected levels) of the level
            whose size sets the target. Defaults to 0.
        scale_factor (float): target size over the reference level's size.
            Defaults to 0.5 (official).
        init_cfg (dict, optional): mmengine init config (default: PyTorch's
            conv init, as the official code).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int,
                 in_index: Optional[Sequence[int]] = None,
                 ref_index: int = 0,
                 scale_factor: float = 0.5,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = list(in_channels)
        self.in_index = None if in_index is None else list(in_index)
        if self.in_index is not None and \
                len(self.in_index) != len(self.in_channels):
            raise ValueError(f'MultiScaleFusionNeck: in_index {in_index} and '
                             f'in_channels {in_channels} differ in length')
        if not -len(self.in_channels) <= ref_index < len(self.in_channels):
            raise ValueError(f'MultiScaleFusionNeck: ref_index {ref_index} '
                             f'out of range for {len(self.in_channels)} '
                             'levels')
        if scale_factor <= 0:
            raise ValueError(f'MultiScaleFusionNeck: scale_factor must be '
                             f'> 0, got {scale_factor}')
        self.ref_index = ref_index
        self.scale_factor = float(scale_factor)
        self.fuse = nn.Conv2d(sum(self.in_channels), out_channels, 3,
                              padding=1)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor]:
        if isinstance(inputs, Tensor):
            inputs = (inputs, )
        feats = list(inputs) if self.in_index is None else [
            inputs[i] for i in self.in_index
        ]
        channels = [f.shape[1] for f in feats]
        if channels != self.in_channels:
            raise ValueError(f'MultiScaleFusionNeck: got levels with '
                             f'{channels} channels, configured for '
                             f'{self.in_channels}')
        ref = feats[self.ref_index].shape[-2:]
        size = tuple(max(1, int(s * self.scale_factor)) for s in ref)
        feats = [
            f if tuple(f.shape[-2:]) == size else F.interpolate(
                f, size=size, mode='bilinear', align_corners=False)
            for f in feats
        ]
        return (self.fuse(torch.cat(feats, dim=1)), )
