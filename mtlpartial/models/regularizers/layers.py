# Copyright (c) mtlpartial contributors. All rights reserved.
"""Layer builders shared by the regularizers' networks (MTPSL's mapping,
JTR's auto-encoder, the cross-task maps).

Normalisation (``norm``): the official MTPSL and JTR code runs these
networks one sample at a time with BatchNorm in train mode, i.e. with
per-sample statistics. ``norm='instance'`` (default) reproduces exactly
that in one batched pass (``InstanceNorm2d(affine=True)`` = BN at batch 1
in train mode); ``norm='batch'`` shares statistics over the batched items
instead (cheaper to converge, different from the official code).
"""
from typing import Sequence

import torch.nn as nn

from .fused_norm import ConvNormReLU

NORMS = ('instance', 'batch')


def build_norm(kind: str, channels: int) -> nn.Module:
    if kind == 'instance':
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == 'batch':
        return nn.BatchNorm2d(channels)
    raise ValueError(f'unknown norm {kind!r}; expected one of {NORMS}')


def conv_norm_relu(c_in: int, c_out: int, norm: str) -> nn.Sequential:
    """``Conv3x3 → norm → ReLU`` (instance norm and ReLU fused,
    :mod:`.fused_norm`)."""
    return ConvNormReLU(
        nn.Conv2d(c_in, c_out, 3, padding=1), build_norm(norm, c_out),
        nn.ReLU(inplace=True))


def xavier_init(module: nn.Module) -> None:
    """Xavier-normal convs with zero bias (official MTPSL/JTR init)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def check_stages(channels: Sequence[int], convs: Sequence[int],
                 where: str) -> None:
    if len(channels) == 0 or len(channels) != len(convs):
        raise ValueError(f'{where}: `channels` and `convs_per_stage` must be '
                         f'non-empty and of equal length, got {channels} '
                         f'and {convs}')
    if any(int(c) < 1 for c in convs):
        raise ValueError(f'{where}: every stage needs >= 1 conv, got {convs}')
