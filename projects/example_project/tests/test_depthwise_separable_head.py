# Copyright (c) mtlpartial contributors. All rights reserved.
import pytest
import torch

from mtlpartial.models.heads import ConvHead
from projects.example_project.example_plugin import (
    DepthwiseSeparableConvHead, separable_block)
from mtlpartial.registry import MODELS


def num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_shapes_and_in_index():
    torch.manual_seed(0)
    head = DepthwiseSeparableConvHead(8, 5, channels=12, num_convs=2,
                                      in_index=0)
    feats = (torch.rand(2, 8, 6, 7), torch.rand(2, 4, 3, 3))
    out = head(feats)
    assert out.shape == (2, 5, 6, 7)
    # a bare tensor is used as is
    assert head(feats[0]).shape == (2, 5, 6, 7)
    # dilation keeps the size
    head = DepthwiseSeparableConvHead(8, 1, num_convs=1, kernel_size=5,
                                      dilation=2)
    assert head([feats[0]]).shape == (2, 1, 6, 7)
    # num_convs=0 is the bare 1x1 classifier
    head = DepthwiseSeparableConvHead(8, 3, num_convs=0)
    assert num_params(head) == 8 * 3 + 3


def test_parameter_count_is_separable():
    """Each block has C·k² depthwise + C·C' pointwise weights (+ BN)."""
    c, k = 16, 3
    block = separable_block(c, c, k, 1, norm=False)
    assert num_params(block) == (c * k * k + c) + (c * c + c)
    head = DepthwiseSeparableConvHead(c, 6, num_convs=1, norm=True)
    expected = c * k * k + 2 * c + c * c + 2 * c + c * 6 + 6
    assert num_params(head) == expected
    assert num_params(head) < num_params(ConvHead(c, 6))


def test_depthwise_is_per_channel():
    """Channel i of the depthwise conv sees only input channel i."""
    block = separable_block(4, 4, 3, 1, norm=False)
    dw = block[0]
    assert dw.groups == 4 and dw.weight.shape == (4, 1, 3, 3)
    x = torch.zeros(1, 4, 5, 5, requires_grad=True)
    y = dw(x)
    y[0, 2].sum().backward()
    touched = x.grad[0].abs().flatten(1).sum(1) > 0
    assert touched.tolist() == [False, False, True, False]


def test_trains_and_registry():
    torch.manual_seed(0)
    head = MODELS.build(
        dict(type='DepthwiseSeparableConvHead', in_channels=4,
             out_channels=2))
    assert isinstance(head, DepthwiseSeparableConvHead)
    head.init_weights()
    x = torch.rand(2, 4, 6, 6)
    target = torch.rand(2, 2, 6, 6)
    opt = torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9)
    first = None
    for _ in range(15):
        loss = (head(x) - target).pow(2).mean()
        first = float(loss) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < 0.5 * first


def test_bad_arguments():
    with pytest.raises(ValueError, match='kernel_size'):
        DepthwiseSeparableConvHead(4, 2, kernel_size=4)
    with pytest.raises(ValueError, match='num_convs'):
        DepthwiseSeparableConvHead(4, 2, num_convs=-1)
    head = DepthwiseSeparableConvHead(4, 2)
    with pytest.raises(ValueError, match=r'expected a \(N, 4, H, W\)'):
        head(torch.rand(1, 3, 4, 4))
