# Copyright (c) mtlpartial contributors. All rights reserved.
"""MTDNet: the Multi-Task Denoising Diffusion Network of DiffusionMTL."""
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mtlpartial.registry import MODELS
from .denoiser import MultiTaskDenoiser
from .schedule import DiffusionSchedule

MODES = ('feature', 'prediction')


@MODELS.register_module()
class MTDNet(BaseModule):
    """Diffuse each task's preliminary map and denoise it, conditioned on
    the preliminary predictions of all tasks (Ye & Xu, CVPR 2024).

    * **Multi-task condition**: ``c = Conv3x3(concat_t P̃_t)`` over the
      preliminary predictions of *all* tasks at the latent resolution,
      detached (official ``pred_combinator``): the unlabelled tasks'
      predictions inform the denoising of the labelled one.
    * **Forward diffusion**: ``x_{T-1} = √ᾱ x_0 + √(1-ᾱ) ε`` with ``x_0`` the
      task's preliminary *feature* (``mode='feature'``, the released code)
      or preliminary *prediction* logits (``mode='prediction'``), not
      detached: the final loss also trains the preliminary branch.
    * **Denoising**: ``T`` ancestral steps with the x0-parameterised
      :class:`~.denoiser.MultiTaskDenoiser`; at steps ``t > 0`` the next
      map is drawn from ``q(x_{t-1} | x_t, x̂_0)``, the denoiser's output at
      ``t = 0`` (through its prediction layer) is the final prediction, at
      the latent resolution. Training runs the same chain as inference
      (the official code supervises only that final output).

    ``forward`` is batched over rows and tasks: the caller passes, per
    task, only the rows to denoise (DiffusionMTL: the labelled samples in
    training, all samples in inference).

    Args:
        task_channels (dict): ``{task: prediction channels}`` in task order
            (set by :class:`~mtlpartial.models.DiffusionMTL`).
        embed_dims (int): channels of the condition, the tokens and the
            task heads; in feature diffusion also of the diffused features
            (official: 512, the ResNet-18 width).
        mode (str): 'feature' (Feature Diffusion) or 'prediction'
            (Prediction Diffusion). Defaults to 'feature'.
        num_timesteps (int): diffusion steps (official 2).
        beta_start, beta_end (float): the linear schedule (official 1e-3,
            1e-2).
        depth, num_heads, mlp_ratio, attn_downsample, head_channels: the
            denoiser (official 4, 4, 4., 4, 512).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 task_channels: Dict[str, int],
                 embed_dims: int = 512,
                 mode: str = 'feature',
                 num_timesteps: int = 2,
                 beta_start: float = 1e-3,
                 beta_end: float = 1e-2,
                 depth: int = 4,
                 num_heads: int = 4,
                 mlp_ratio: float = 4.,
                 attn_downsample: int = 4,
                 head_channels: int = 512,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if mode not in MODES:
            raise ValueError(f'MTDNet.mode must be one of {MODES}, got '
                             f'{mode!r}')
        if not task_channels:
            raise ValueError('MTDNet needs at least one task')
        self.task_names = tuple(task_channels)
        self.mode = mode
        self.embed_dims = int(embed_dims)
        self.schedule = DiffusionSchedule(num_timesteps, beta_start,
                                          beta_end)
        self.condition_conv = nn.Conv2d(
            sum(task_channels.values()), embed_dims, 3, padding=1)
        nn.init.kaiming_normal_(
            self.condition_conv.weight, mode='fan_out', nonlinearity='relu')
        nn.init.zeros_(self.condition_conv.bias)
        in_channels = {
            t: embed_dims if mode == 'feature' else c
            for t, c in task_channels.items()
        }
        self.denoiser = MultiTaskDenoiser(
            in_channels, dict(task_channels), embed_dims, head_channels,
            depth, num_heads, mlp_ratio, attn_downsample)

    @property
    def num_timesteps(self) -> int:
        return self.schedule.num_timesteps

    def condition(self, prelim_preds: Dict[str, Tensor]) -> Tensor:
        """The multi-task condition ``(N, E, h, w)`` from the preliminary
        predictions (raw, latent resolution) of every task."""
        missing = [t for t in self.task_names if t not in prelim_preds]
        if missing:
            raise KeyError(f'MTDNet.condition: no preliminary prediction '
                           f'for {missing}')
        return self.condition_conv(
            torch.cat([prelim_preds[t].detach() for t in self.task_names],
                      dim=1))

    @staticmethod
    def noise_like(x: Tensor) -> Tensor:
        """Standard Gaussian noise shaped like ``x`` (global RNG)."""
        return torch.randn_like(x)

    def forward(self, starts: Dict[str, Tensor],
                cond: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Diffuse ``starts`` and denoise them.

        Args:
            starts (dict): ``{task: x_0 (n_t, C, h, w)}``, the rows to
                denoise (preliminary features or predictions).
            cond (dict): ``{task: (n_t, E, h, w)}``, the multi-task
                condition of the same rows.

        Returns:
            dict: ``{task: raw final prediction (n_t, C_t, h, w)}``.
        """
        last = self.num_timesteps - 1
        x = {
            t: self.schedule.q_sample(s, last, self.noise_like(s))
            for t, s in starts.items() if s.shape[0]
        }
        cond = {t: cond[t] for t in x}
        predict = self.mode == 'prediction'  # x̂_0 in prediction space
        for step in range(last, 0, -1):
            x0 = self.denoiser(x, cond, step, predict)
            x = {
                t: self.schedule.p_sample(x0[t], x[t], step,
                                          self.noise_like(x[t]))
                for t in x
            }
        return self.denoiser(x, cond, 0, predict=True)
