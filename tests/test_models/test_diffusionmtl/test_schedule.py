# Copyright (c) mtlpartial contributors. All rights reserved.
"""The diffusion schedule against the DDPM closed forms, written out."""
import math

import pytest
import torch

from mtlpartial.models.diffusion import DiffusionSchedule


def betas(T, start, end):
    if T == 1:
        return [start]
    s, e = math.sqrt(start), math.sqrt(end)
    return [(s + i / (T - 1) * (e - s))**2 for i in range(T)]


@pytest.mark.parametrize('T,t', [(2, 0), (2, 1), (5, 3), (1, 0)])
def test_forward_diffusion_matches_closed_form(T, t):
    sched = DiffusionSchedule(T, 1e-3, 1e-2)
    abar = math.prod(1 - b for b in betas(T, 1e-3, 1e-2)[:t + 1])
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(3, 4, 5, 6, generator=g, dtype=torch.float64)
    eps = torch.randn(3, 4, 5, 6, generator=g, dtype=torch.float64)
    xt = sched.q_sample(x0, t, eps)
    expected = math.sqrt(abar) * x0 + math.sqrt(1 - abar) * eps
    torch.testing.assert_close(xt, expected, rtol=1e-6, atol=1e-7)


def test_forward_diffusion_composes_the_one_step_kernels():
    """x_t reached by t+1 single steps q(x_s | x_{s-1}) has the closed-form
    mean and variance (Monte-Carlo over many pixels)."""
    T = 4
    sched = DiffusionSchedule(T, 1e-2, 2e-1)
    bs = betas(T, 1e-2, 2e-1)
    g = torch.Generator().manual_seed(1)
    x0 = torch.full((200_000, ), 2.0, dtype=torch.float64)
    x = x0
    for b in bs:
        x = math.sqrt(1 - b) * x + math.sqrt(b) * torch.randn(
            x.shape, generator=g, dtype=torch.float64)
    closed = sched.q_sample(x0, T - 1, torch.randn(
        x0.shape, generator=g, dtype=torch.float64))
    assert abs(x.mean() - closed.mean()) < 0.01
    assert abs(x.var() - closed.var()) < 0.01


def test_posterior_is_the_gaussian_product():
    """Mean and variance of q(x_{t-1} | x_t, x_0) from Bayes' rule."""
    T, t = 3, 2
    sched = DiffusionSchedule(T, 1e-3, 1e-2)
    bs = betas(T, 1e-3, 1e-2)
    abar = [math.prod(1 - b for b in bs[:i + 1]) for i in range(T)]
    x0 = torch.tensor([0.3, -1.2], dtype=torch.float64)
    xt = torch.tensor([1.0, 0.5], dtype=torch.float64)
    # prior N(√ᾱ_{t-1} x0, 1-ᾱ_{t-1}) times likelihood N(xt; √α_t x, β_t)
    a_t, v_prior = 1 - bs[t], 1 - abar[t - 1]
    var = 1 / (1 / v_prior + a_t / bs[t])
    mean = var * (math.sqrt(abar[t - 1]) * x0 / v_prior +
                  math.sqrt(a_t) * xt / bs[t])
    m, log_var = sched.posterior(x0, xt, t)
    torch.testing.assert_close(m, mean, rtol=1e-5, atol=1e-7)
    assert math.isclose(float(log_var.exp()), var, rel_tol=1e-4)
    # the last step is the mean (no noise)
    eps = torch.ones(2, dtype=torch.float64)
    torch.testing.assert_close(sched.p_sample(x0, xt, 0, eps),
                               sched.posterior(x0, xt, 0)[0])


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match='num_timesteps'):
        DiffusionSchedule(0)
    with pytest.raises(ValueError, match='beta_start'):
        DiffusionSchedule(2, 1e-2, 1e-3)
    with pytest.raises(IndexError, match='step 2'):
        DiffusionSchedule(2).q_sample(torch.zeros(1), 2, torch.zeros(1))
