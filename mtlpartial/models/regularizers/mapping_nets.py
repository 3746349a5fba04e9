# Copyright (c) mtlpartial contributors. All rights reserved.
"""Networks owned by regularizers: MTPSL's FiLM-conditioned pairwise
mapping, JTR's joint-task SegNet auto-encoder and the small pairwise maps of
the Direct-Map / Perceptual-Map baselines.

Normalisation (``norm``): the official MTPSL and JTR code runs these
networks one sample at a time with BatchNorm in train mode, i.e. with
per-sample statistics. ``norm='instance'`` (default) reproduces exactly
that in one batched pass (``InstanceNorm2d(affine=True)`` = BN at batch 1
in train mode); ``norm='batch'`` shares statistics over the batched items
instead (cheaper to converge, different from the official code).
"""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

NORMS = ('instance', 'batch')


def build_norm(kind: str, channels: int) -> nn.Module:
    if kind == 'instance':
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == 'batch':
        return nn.BatchNorm2d(channels)
    raise ValueError(f'unknown norm {kind!r}; expected one of {NORMS}')


def conv_norm_relu(c_in: int, c_out: int, norm: str) -> nn.Sequential:
    return nn.Sequential(
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


class FiLMConv(nn.Module):
    """``ReLU(norm(Conv3x3(x)) * gamma[code] + beta[code])``.

    ``film_gamma``/``film_beta`` are ``(num_codes, planes)`` tables (init
    ones/zeros) indexed per item, so items with different task-pair codes
    share one batched pass. Their names contain ``film`` so that a
    paramwise lr (``custom_keys={'film': ...}``) can target them.
    """

    def __init__(self, c_in: int, c_out: int, num_codes: int,
                 norm: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm = build_norm(norm, c_out)
        self.film_gamma = nn.Parameter(torch.ones(num_codes, c_out))
        self.film_beta = nn.Parameter(torch.zeros(num_codes, c_out))

    def forward(self, x: Tensor, codes: Tensor) -> Tensor:
        x = self.norm(self.conv(x))
        gamma = self.film_gamma[codes][:, :, None, None]
        beta = self.film_beta[codes][:, :, None, None]
        return F.relu(x * gamma + beta)


class ConditionalMappingNet(nn.Module):
    """MTPSL's conditional joint pairwise mapping network.

    Task-specific input layers (Conv3x3-norm-ReLU, ``C_t → in_width``)
    followed by SegNet-encoder stages whose convs are FiLM-conditioned on a
    per-item code, each stage ending in a 2x2 max-pool.

    Args:
        in_channels (Sequence[int]): encoded channels of each task (order =
            task order).
        num_codes (int): number of FiLM codes (``K(K-1)``, or 1 without
            conditioning).
        channels (Sequence[int]): widths of the shared stages. Defaults to
            the SegNet encoder (64, 128, 256, 512, 512).
        convs_per_stage (Sequence[int]): convs per stage. Defaults to
            (2, 2, 3, 3, 3).
        in_width (int): width of the task input layers. Defaults to 64.
        out_channels (int, optional): if given and different from
            ``channels[-1]``, a 1x1 projection maps the output to it (to
            match the backbone feature used by the regularisation term).
        norm (str): 'instance' or 'batch'.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 num_codes: int,
                 channels: Sequence[int] = (64, 128, 256, 512, 512),
                 convs_per_stage: Sequence[int] = (2, 2, 3, 3, 3),
                 in_width: int = 64,
                 out_channels: int = None,
                 norm: str = 'instance') -> None:
        super().__init__()
        check_stages(channels, convs_per_stage, 'MTPSL mapping')
        self.input_layers = nn.ModuleList(
            conv_norm_relu(c, in_width, norm) for c in in_channels)
        self.stages = nn.ModuleList()
        c = in_width
        for width, n in zip(channels, convs_per_stage):
            convs = nn.ModuleList()
            for _ in range(n):
                convs.append(FiLMConv(c, width, num_codes, norm))
                c = width
            self.stages.append(convs)
        self.proj = None
        if out_channels is not None and out_channels != c:
            self.proj = nn.Conv2d(c, out_channels, 1)
        self.out_channels = out_channels or c
        xavier_init(self)

    def embed_input(self, task_index: int, x: Tensor) -> Tensor:
        return self.input_layers[task_index](x)

    def forward(self, x: Tensor, codes: Tensor) -> Tensor:
        for stage in self.stages:
            for conv in stage:
                x = conv(x, codes)
            x = F.max_pool2d(x, 2, 2)
        if self.proj is not None:
            x = self.proj(x)
        return x


class SegNetAutoEncoder(nn.Module):
    """SegNet encoder-decoder (max-pool indices / max-unpool) used as JTR's
    joint-task auto-encoder.

    Args:
        in_channels (int): channels of the stacked task encodings; the
            reconstruction has the same count.
        channels (Sequence[int]): stage widths. Defaults to the MTAN SegNet
            (64, 128, 256, 512, 512).
        convs_per_stage (Sequence[int]): Defaults to (2, 2, 3, 3, 3).
        norm (str): 'instance' or 'batch'.

    Returns (forward):
        tuple[Tensor, Tensor | None]: latent (bottleneck after the last
        pool) and the reconstruction logits (None with ``latent_only``).
    """

    def __init__(self,
                 in_channels: int,
                 channels: Sequence[int] = (64, 128, 256, 512, 512),
                 convs_per_stage: Sequence[int] = (2, 2, 3, 3, 3),
                 norm: str = 'instance') -> None:
        super().__init__()
        check_stages(channels, convs_per_stage, 'JTR auto-encoder')
        f = list(channels)
        self.encoder = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for i, n in enumerate(convs_per_stage):
            c_in = in_channels if i == 0 else f[i - 1]
            layers = [conv_norm_relu(c_in, f[i], norm)]
            layers += [conv_norm_relu(f[i], f[i], norm) for _ in range(n - 1)]
            self.encoder.append(nn.Sequential(*layers))
        for i in reversed(range(len(f))):
            c_out = f[0] if i == 0 else f[i - 1]
            n = convs_per_stage[i]
            layers = [conv_norm_relu(f[i], c_out, norm)]
            layers += [conv_norm_relu(c_out, c_out, norm)
                       for _ in range(n - 1)]
            self.decoder.append(nn.Sequential(*layers))
        self.head = nn.Sequential(
            nn.Conv2d(f[0], f[0], 3, padding=1),
            nn.Conv2d(f[0], in_channels, 1))
        self.latent_channels = f[-1]
        xavier_init(self)

    def forward(self, x: Tensor,
                latent_only: bool = False) -> Tuple[Tensor, Tensor]:
        indices, sizes = [], []
        for block in self.encoder:
            x = block(x)
            sizes.append(x.shape[-2:])
            x, idx = F.max_pool2d(x, 2, 2, return_indices=True)
            indices.append(idx)
        latent = x
        if latent_only:
            return latent, None
        n = len(self.encoder)
        for j, block in enumerate(self.decoder):
            i = n - 1 - j
            x = F.max_unpool2d(x, indices[i], 2, 2, output_size=sizes[i])
            x = block(x)
        return latent, self.head(x)


class PairMapNet(nn.Module):
    """A small encoder-decoder mapping one task's map to another task's
    output (Direct-Map / Perceptual-Map, after Zamir et al.'s cross-task
    networks; the paper uses a whole SegNet, configurable here).

    Args:
        in_channels (int): encoded channels of the source task.
        out_channels (int): head channels of the target task.
        channels (Sequence[int]): encoder widths; a 2x2 max-pool separates
            stages; the decoder mirrors them with bilinear upsampling.
        norm (str): 'batch' (default) or 'instance'.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 channels: Sequence[int] = (32, 64, 128),
                 norm: str = 'batch') -> None:
        super().__init__()
        if len(channels) == 0:
            raise ValueError('PairMapNet: `channels` must be non-empty')
        f = list(channels)
        self.encoder = nn.ModuleList(
            conv_norm_relu(in_channels if i == 0 else f[i - 1], f[i], norm)
            for i in range(len(f)))
        self.decoder = nn.ModuleList(
            conv_norm_relu(f[i] + f[i - 1], f[i - 1], norm)
            for i in reversed(range(1, len(f))))
        self.head = nn.Conv2d(f[0], out_channels, 1)
        xavier_init(self)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for i, block in enumerate(self.encoder):
            if i > 0:
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            x = block(x)
            skips.append(x)
        for j, block in enumerate(self.decoder):
            skip = skips[-2 - j]
            x = F.interpolate(x, size=skip.shape[-2:], mode='bilinear',
                              align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)
