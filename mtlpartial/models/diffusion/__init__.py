# Copyright (c) mtlpartial contributors. All rights reserved.
"""DiffusionMTL's Multi-Task Denoising Diffusion Network (networks and
diffusion math; the model integration is ``mtlpartial.models.diffusionmtl``).
"""
from .denoiser import CrossAttentionBlock, MultiTaskDenoiser
from .mtdnet import MTDNet
from .schedule import DiffusionSchedule

__all__ = [
    'MTDNet', 'MultiTaskDenoiser', 'CrossAttentionBlock', 'DiffusionSchedule'
]
