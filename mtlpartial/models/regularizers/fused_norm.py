# Copyright (c) mtlpartial contributors. All rights reserved.
"""Instance normalisation, a per-item affine map and ReLU in one autograd
function (the regularizers' networks: MTPSL's FiLM convs, the input layers,
JTR's auto-encoder, the cross-task maps).

``y = relu(x̂ · scale + shift)`` with ``x̂`` ``x`` normalised over each
item's and channel's positions (``InstanceNorm2d``), ``scale``/``shift``
``(N, C)``: the norm's affine parameters, times and plus MTPSL's FiLM
``γ``/``β`` of the item's task pair. The same maths as
``InstanceNorm2d(affine=True)`` → ``* γ + β`` → ``ReLU``, on torch's own
kernels: instance norm is batch norm of the ``(1, N·C, H, W)`` view (what
``F.instance_norm`` runs), here with the per-item affine map as the batch
norm's weight and bias, the ReLU in place on its output and
``threshold_backward`` / ``native_batch_norm_backward`` in the backward.
So

* backward keeps only ``x`` (the conv output) and ``y`` (the output, which
  the next conv keeps anyway) instead of ``x``, the normalised map and the
  output: one activation-sized tensor less per layer;
* forward writes one tensor (``y``) instead of four (normalised, scaled,
  shifted, rectified), and the backward two instead of five (fewer page
  faults and a smaller kernel share per MTPSL / JTR step on the CPU:
  docs/benchmarks.md, issue 14 section).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from ..layers import ConvNormAct


class _InstanceNormAffineReLU(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x: Tensor, scale: Tensor, shift: Tensor,
                eps: float) -> Tensor:
        n, c, h, w = x.shape
        x = x.contiguous().view(1, n * c, h, w)
        y, mean, invstd = torch.native_batch_norm(
            x, scale.reshape(-1), shift.reshape(-1), None, None, True, 0.0,
            eps)
        y.relu_()
        ctx.save_for_backward(x, y, mean, invstd, scale)
        ctx.eps = eps
        return y.view(n, c, h, w)

    @staticmethod
    def backward(ctx, dy: Tensor) -> Tuple[Optional[Tensor], ...]:
        x, y, mean, invstd, scale = ctx.saved_tensors
        n, c = scale.shape
        g = torch.ops.aten.threshold_backward(dy.reshape(y.shape), y, 0.0)
        dx, d_scale, d_shift = torch.ops.aten.native_batch_norm_backward(
            g, x, scale.reshape(-1), None, None, mean, invstd, True, ctx.eps,
            list(ctx.needs_input_grad[:3]))
        shape = (n, c, *x.shape[2:])
        return (None if dx is None else dx.view(shape),
                None if d_scale is None else d_scale.view(n, c),
                None if d_shift is None else d_shift.view(n, c), None)


def instance_norm_affine_relu(x: Tensor, scale: Tensor, shift: Tensor,
                              eps: float = 1e-5) -> Tensor:
    """``relu(instance_norm(x) * scale + shift)``, ``scale``/``shift``
    ``(N, C)`` (see the module docstring)."""
    return _InstanceNormAffineReLU.apply(x, scale, shift, eps)


class ConvNormReLU(ConvNormAct):
    """``Conv3x3 → norm → ReLU``: :class:`..layers.ConvNormAct` (mmcv's
    ``ConvModule``, same children and state-dict keys) whose forward runs
    the norm and the ReLU fused when the norm is
    ``InstanceNorm2d(affine=True)`` without running statistics; any other
    norm, order or partial call (``activate``/``norm`` False) takes
    ``ConvModule``'s own forward."""

    def forward(self, x: Tensor, activate: bool = True,
                norm: bool = True) -> Tensor:
        layer = self.norm if self.with_norm else None
        fusable = (activate and norm and self.order == ('conv', 'norm', 'act')
                   and not self.with_explicit_padding
                   and isinstance(layer, nn.InstanceNorm2d) and layer.affine
                   and not layer.track_running_stats
                   and isinstance(self.activate, nn.ReLU))
        if not fusable:
            return super().forward(x, activate, norm)
        out = self.conv(x)
        n = out.shape[0]
        return instance_norm_affine_relu(out, layer.weight.expand(n, -1),
                                         layer.bias.expand(n, -1), layer.eps)
