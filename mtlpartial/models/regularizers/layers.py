# Copyright (c) mtlpartial contributors. All rights reserved.
"""Layer parts of the regularizers' networks (MTPSL's mapping, JTR's
auto-encoder, the cross-task maps), built from mmcv and mmengine parts.

Normalisation (``norm``): the official MTPSL and JTR code runs these
networks one sample at a time with BatchNorm in train mode, i.e. with
per-sample statistics. ``norm='instance'`` (default) reproduces exactly
that in one batched pass (``InstanceNorm2d(affine=True)`` = BN at batch 1
in train mode); ``norm='batch'`` shares statistics over the batched items
instead (cheaper to converge, different from the official code).

Initialisation: the networks are initialised when they are built (inside
the model's forked random stream, see ``MultiTaskModel``), with
:data:`XAVIER_INIT` (official MTPSL/JTR init), and ``init_weights()`` of
the model leaves them alone.
"""
from typing import Sequence

from .fused_norm import ConvNormReLU

#: ``norm`` values and the mmcv ``norm_cfg`` each stands for.
NORM_CFGS = dict(instance=dict(type='IN', affine=True), batch=dict(type='BN'))
NORMS = tuple(NORM_CFGS)

#: Xavier-normal conv and linear weights, zero bias (official MTPSL/JTR).
XAVIER_INIT = dict(
    type='Xavier', layer=['Conv2d', 'Linear'], distribution='normal', bias=0.)


def norm_cfg(kind: str) -> dict:
    """The mmcv ``norm_cfg`` of a ``norm`` value ('instance' or 'batch')."""
    if kind not in NORM_CFGS:
        raise ValueError(f'unknown norm {kind!r}; expected one of {NORMS}')
    return dict(NORM_CFGS[kind])


def conv_norm_relu(c_in: int, c_out: int, norm: str) -> ConvNormReLU:
    """Conv3x3 (bias, as the official networks) → norm → ReLU (instance
    norm and ReLU fused, :mod:`.fused_norm`)."""
    return ConvNormReLU(c_in, c_out, 3, padding=1, bias=True,
                        norm_cfg=norm_cfg(norm))


def check_stages(channels: Sequence[int], convs: Sequence[int],
                 where: str) -> None:
    if len(channels) == 0 or len(channels) != len(convs):
        raise ValueError(f'{where}: `channels` and `convs_per_stage` must be '
                         f'non-empty and of equal length, got {channels} '
                         f'and {convs}')
    if any(int(c) < 1 for c in convs):
        raise ValueError(f'{where}: every stage needs >= 1 conv, got {convs}')
