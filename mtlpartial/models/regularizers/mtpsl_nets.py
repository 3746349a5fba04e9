# Copyright (c) mtlpartial contributors. All rights reserved.
"""MTPSL's networks: the FiLM-conditioned joint pairwise mapping and the
pair discriminator of the Discriminator-Loss variant (kept beside
``mtpsl.py``, which is long enough on its own)."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import initialize
from torch import Tensor

from .fused_norm import instance_norm_affine_relu
from .layers import XAVIER_INIT, check_stages, conv_norm_relu, norm_cfg


class FiLMConv(nn.Module):
    """``ReLU(norm(Conv3x3(x)) * gamma[code] + beta[code])``.

    ``film_gamma``/``film_beta`` are ``(num_codes, planes)`` tables (init
    ones/zeros) indexed per item, so items with different task-pair codes
    share one batched pass. Their names contain ``film`` so that a
    paramwise lr (``custom_keys={'film': ...}``) can target them. With
    instance norm, the norm's affine map and FiLM's are one per-item
    affine map, applied with the ReLU in one fused step
    (:func:`.fused_norm.instance_norm_affine_relu`).
    """

    def __init__(self, c_in: int, c_out: int, num_codes: int,
                 norm: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm = build_norm_layer(norm_cfg(norm), c_out)[1]
        self.film_gamma = nn.Parameter(torch.ones(num_codes, c_out))
        self.film_beta = nn.Parameter(torch.zeros(num_codes, c_out))

    def forward(self, x: Tensor, codes: Tensor) -> Tensor:
        x = self.conv(x)
        gamma = self.film_gamma[codes]
        norm = self.norm
        if isinstance(norm, nn.InstanceNorm2d):
            # (x̂ w + b) γ + β = x̂ (w γ) + (b γ + β)
            return instance_norm_affine_relu(
                x, norm.weight * gamma,
                torch.addcmul(self.film_beta[codes], norm.bias, gamma),
                norm.eps)
        x = norm(x)
        gamma = gamma[:, :, None, None]
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
                 out_channels: Optional[int] = None,
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
        initialize(self, XAVIER_INIT)

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


class PairDiscriminator(nn.Module):
    """Small CNN scoring whether two joint-space embeddings come from the
    same image (Discriminator-Loss variant)."""

    def __init__(self, in_channels: int, hidden: int = 128) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(2 * in_channels, hidden, 3, padding=1),
            nn.ReLU(inplace=True), nn.Conv2d(hidden, hidden, 3, padding=1),
            nn.ReLU(inplace=True))
        self.fc = nn.Linear(hidden, 1)

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        x = self.convs(torch.cat([a, b], dim=1))
        return self.fc(x.mean((2, 3))).squeeze(1)
