# Copyright (c) mtlpartial contributors. All rights reserved.
"""The fused instance-norm → per-item affine → ReLU equals the unfused
modules (values and gradients, any memory format), and the layers built
on it keep the parameter names of the modules they replace."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mtlpartial.models.layers import ConvNormAct
from mtlpartial.models.regularizers.fused_norm import (
    ConvNormReLU, instance_norm_affine_relu)
from mtlpartial.models.regularizers.layers import conv_norm_relu
from mtlpartial.models.regularizers.mtpsl_nets import FiLMConv


def reference(x, scale, shift, eps=1e-5):
    xhat = F.instance_norm(x, eps=eps)
    return F.relu(xhat * scale[:, :, None, None] + shift[:, :, None, None])


@pytest.mark.parametrize('channels_last', [False, True])
def test_values_and_gradients_match_the_unfused_ops(channels_last):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 6, 7, generator=g, dtype=torch.float64) * 2 + 1
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    scale = torch.randn(3, 5, generator=g, dtype=torch.float64)
    shift = torch.randn(3, 5, generator=g, dtype=torch.float64)
    inputs = [t.clone().requires_grad_() for t in (x, scale, shift)]
    ref_inputs = [t.clone().requires_grad_() for t in (x, scale, shift)]
    out = instance_norm_affine_relu(*inputs)
    ref = reference(*ref_inputs)
    torch.testing.assert_close(out, ref)
    w = torch.randn(out.shape, generator=g, dtype=torch.float64)
    (out * w).sum().backward()
    (ref * w).sum().backward()
    for a, b in zip(inputs, ref_inputs):
        torch.testing.assert_close(a.grad, b.grad)
    assert torch.autograd.gradcheck(
        lambda *t: instance_norm_affine_relu(*t),
        [t.detach()[:2, :3, :4, :4].clone().requires_grad_() if t.dim() == 4
         else t.detach()[:2, :3].clone().requires_grad_() for t in inputs])


def test_conv_norm_relu_matches_the_unfused_conv_module():
    torch.manual_seed(0)
    fused = conv_norm_relu(3, 4, 'instance')
    assert isinstance(fused, ConvNormReLU)
    plain = ConvNormAct(3, 4, 3, padding=1, bias=True,
                        norm_cfg=dict(type='IN', affine=True))
    with torch.no_grad():
        fused.norm.weight.uniform_(0.5, 1.5)
        fused.norm.bias.uniform_(-0.5, 0.5)
    assert plain.load_state_dict(fused.state_dict()) is not None
    x = torch.rand(2, 3, 8, 8)
    xf, xp = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, ref = fused(xf), plain(xp)
    torch.testing.assert_close(out, ref)
    out.square().sum().backward()
    ref.square().sum().backward()
    torch.testing.assert_close(xf.grad, xp.grad)
    for (name, a), b in zip(fused.named_parameters(), plain.parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)
    torch.testing.assert_close(fused(x, activate=False),
                               plain(x, activate=False))
    batch = conv_norm_relu(3, 4, 'batch')  # unfused path
    assert isinstance(batch.norm, nn.BatchNorm2d)
    assert batch(x).shape == (2, 4, 8, 8)


def test_film_conv_fuses_norm_and_film():
    torch.manual_seed(0)
    layer = FiLMConv(3, 4, num_codes=2, norm='instance')
    with torch.no_grad():
        layer.film_gamma.uniform_(0.5, 1.5)
        layer.film_beta.uniform_(-0.5, 0.5)
        layer.norm.weight.uniform_(0.5, 1.5)
        layer.norm.bias.uniform_(-0.5, 0.5)
    x = torch.rand(3, 3, 8, 8)
    codes = torch.tensor([0, 1, 1])
    expected = F.relu(
        layer.norm(layer.conv(x)) * layer.film_gamma[codes][:, :, None, None]
        + layer.film_beta[codes][:, :, None, None])
    torch.testing.assert_close(layer(x, codes), expected)
