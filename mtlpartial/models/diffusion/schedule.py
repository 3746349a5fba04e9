# Copyright (c) mtlpartial contributors. All rights reserved.
"""The Gaussian diffusion of DiffusionMTL's MTDNet (DDPM, x0-parameterised).

Forward process ``q(x_t | x_0) = N(√ᾱ_t x_0, (1 - ᾱ_t) I)`` and the
posterior ``q(x_{t-1} | x_t, x_0)`` used by ancestral sampling, with the
"linear" schedule of DDPM/latent diffusion, ``β_t = (√β_start + t/(T-1)
(√β_end - √β_start))²``. Steps are Python ints: DiffusionMTL runs every
sample of a batch through the same steps.
"""
from typing import Tuple

import torch
import torch.nn as nn
from torch import Tensor


def linear_betas(num_timesteps: int, beta_start: float,
                 beta_end: float) -> Tensor:
    """``(T,)`` float64 betas, linear in ``√β``."""
    return torch.linspace(beta_start**0.5, beta_end**0.5, num_timesteps,
                          dtype=torch.float64)**2


class DiffusionSchedule(nn.Module):
    """Closed forms of the forward process and its posterior.

    Buffers are float32 and not persistent (they follow from the
    arguments, so checkpoints stay independent of them).

    Args:
        num_timesteps (int): ``T``. DiffusionMTL uses 2.
        beta_start (float): ``β_0``. Official: 1e-3.
        beta_end (float): ``β_{T-1}``. Official: 1e-2.
    """

    def __init__(self, num_timesteps: int = 2, beta_start: float = 1e-3,
                 beta_end: float = 1e-2) -> None:
        super().__init__()
        if int(num_timesteps) != num_timesteps or num_timesteps < 1:
            raise ValueError(f'num_timesteps must be a positive int, got '
                             f'{num_timesteps!r}')
        if not 0 < beta_start <= beta_end < 1:
            raise ValueError(f'need 0 < beta_start <= beta_end < 1, got '
                             f'beta_start={beta_start}, beta_end={beta_end}')
        self.num_timesteps = int(num_timesteps)
        betas = linear_betas(self.num_timesteps, beta_start, beta_end)
        alphas = 1 - betas
        abar = torch.cumprod(alphas, 0)
        abar_prev = torch.cat([abar.new_ones(1), abar[:-1]])
        variance = betas * (1 - abar_prev) / (1 - abar)
        buffers = dict(
            betas=betas,
            sqrt_abar=abar.sqrt(),
            sqrt_one_minus_abar=(1 - abar).sqrt(),
            posterior_coef_x0=betas * abar_prev.sqrt() / (1 - abar),
            posterior_coef_xt=(1 - abar_prev) * alphas.sqrt() / (1 - abar),
            # the variance is 0 at t = 0: clipped log as in DDPM
            posterior_log_variance=variance.clamp(min=1e-20).log())
        for name, value in buffers.items():
            self.register_buffer(name, value.float(), persistent=False)

    def _check(self, t: int) -> None:
        if not 0 <= t < self.num_timesteps:
            raise IndexError(f'diffusion step {t} outside '
                             f'[0, {self.num_timesteps})')

    def q_sample(self, x0: Tensor, t: int, noise: Tensor) -> Tensor:
        """``x_t = √ᾱ_t x_0 + √(1 - ᾱ_t) ε``."""
        self._check(t)
        return (self.sqrt_abar[t].to(x0.dtype) * x0 +
                self.sqrt_one_minus_abar[t].to(x0.dtype) * noise)

    def posterior(self, x0: Tensor, xt: Tensor, t: int
                  ) -> Tuple[Tensor, Tensor]:
        """Mean and log-variance (a scalar) of ``q(x_{t-1} | x_t, x_0)``."""
        self._check(t)
        mean = (self.posterior_coef_x0[t].to(xt.dtype) * x0 +
                self.posterior_coef_xt[t].to(xt.dtype) * xt)
        return mean, self.posterior_log_variance[t]

    def p_sample(self, x0: Tensor, xt: Tensor, t: int,
                 noise: Tensor) -> Tensor:
        """One ancestral step ``x_{t-1} ~ q(x_{t-1} | x_t, x̂_0)`` with the
        denoiser's ``x̂_0`` (no noise at ``t = 0``)."""
        mean, log_var = self.posterior(x0, xt, t)
        if t == 0:
            return mean
        return mean + (0.5 * log_var).exp().to(xt.dtype) * noise

    def extra_repr(self) -> str:
        return f'num_timesteps={self.num_timesteps}'
