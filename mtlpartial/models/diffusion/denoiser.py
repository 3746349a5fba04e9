# Copyright (c) mtlpartial contributors. All rights reserved.
"""The Multi-Task Conditioned Denoiser of DiffusionMTL (Ye & Xu, CVPR 2024).

For each task ``t`` the denoiser maps its noisy map ``x_t`` (a preliminary
feature or prediction map plus noise) to an estimate of the clean map:

1. ``h = pre_t(x_t) + emb(step)`` (3x3 conv, sinusoidal step embedding);
2. a stream of *condition* tokens, initialised from the multi-task
   condition ``c`` (a conv over the preliminary predictions of **all**
   tasks, see :class:`~.mtdnet.MTDNet`), attends to the tokens of ``h`` in
   ``depth`` shared cross-attention blocks, at ``1/attn_downsample`` of the
   map resolution;
3. the condition stream, resized back, plus ``h`` goes through the task's
   head (1x1 conv, three 3x3 conv-ReLU) and, at the last step (or at every
   step in prediction diffusion), its 1x1 prediction layer.

Query and key roles follow the official code (``cur_kv, x =
crossblocks[d](cur_kv, x)``): the conditioning is the query, the noisy map
the key/value. The shared blocks run once on all tasks' rows (concatenated
along the batch; LayerNorm and attention are per row, so this equals the
official per-task loop).
"""
import math
from typing import Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


def resize(x: Tensor, size: Tuple[int, int]) -> Tensor:
    """Bilinear resize (``align_corners=False``, as the official code)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode='bilinear', align_corners=False)


def mlp(dims: int, hidden: int) -> nn.Sequential:
    """Linear → GELU → Linear (timm's ``Mlp`` without dropout)."""
    return nn.Sequential(
        nn.Linear(dims, hidden), nn.GELU(), nn.Linear(hidden, dims))


class TimestepEmbedding(nn.Module):
    """Sinusoidal step features (DiT) → Linear → SiLU → Linear.

    Args:
        dims (int): output channels.
        freq_dims (int): sinusoidal features. Defaults to 256.
        max_period (float): lowest frequency's period. Defaults to 10000.
    """

    def __init__(self, dims: int, freq_dims: int = 256,
                 max_period: float = 10000.) -> None:
        super().__init__()
        self.freq_dims = freq_dims
        self.max_period = max_period
        self.mlp = nn.Sequential(
            nn.Linear(freq_dims, dims), nn.SiLU(), nn.Linear(dims, dims))
        nn.init.normal_(self.mlp[0].weight, std=0.02)
        nn.init.normal_(self.mlp[2].weight, std=0.02)

    def sinusoid(self, t: Tensor) -> Tensor:
        half = self.freq_dims // 2
        freqs = torch.exp(-math.log(self.max_period) * torch.arange(
            half, dtype=torch.float32, device=t.device) / half)
        args = t.float()[:, None] * freqs[None]
        emb = torch.cat([args.cos(), args.sin()], dim=-1)
        if self.freq_dims % 2:
            emb = F.pad(emb, (0, 1))
        return emb

    def forward(self, t: Tensor) -> Tensor:
        """``t`` ``(N,)`` → ``(N, dims)``."""
        return self.mlp(self.sinusoid(t).to(self.mlp[0].weight.dtype))


class CrossAttentionBlock(nn.Module):
    """Pre-norm cross-attention block with a context MLP (official
    ``CrossBlock``): ``c ← c + MLP_c(LN(c))``, ``q ← q + Attn(LN(q),
    LN(c))``, ``q ← q + MLP(LN(q))``; returns ``(q, c)``.

    Args:
        dims (int): token channels.
        num_heads (int): attention heads.
        mlp_ratio (float): hidden width of both MLPs over ``dims``.
    """

    def __init__(self, dims: int, num_heads: int,
                 mlp_ratio: float = 4.) -> None:
        super().__init__()
        if dims % num_heads:
            raise ValueError(f'embed_dims={dims} is not divisible by '
                             f'num_heads={num_heads}')
        self.num_heads = num_heads
        hidden = int(dims * mlp_ratio)
        self.norm_query = nn.LayerNorm(dims)
        self.norm_context = nn.LayerNorm(dims)
        self.norm_query_mlp = nn.LayerNorm(dims)
        self.norm_context_mlp = nn.LayerNorm(dims)
        self.to_q = nn.Linear(dims, dims, bias=False)
        self.to_kv = nn.Linear(dims, 2 * dims, bias=False)
        self.proj = nn.Linear(dims, dims)
        self.mlp = mlp(dims, hidden)
        self.mlp_context = mlp(dims, hidden)

    def attend(self, query: Tensor, context: Tensor) -> Tensor:
        n, lq, c = query.shape
        h = self.num_heads
        q = self.to_q(query).view(n, lq, h, c // h).transpose(1, 2)
        k, v = self.to_kv(context).view(n, -1, 2, h, c // h).permute(
            2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(n, lq, c))

    def forward(self, query: Tensor,
                context: Tensor) -> Tuple[Tensor, Tensor]:
        context = context + self.mlp_context(self.norm_context_mlp(context))
        query = query + self.attend(
            self.norm_query(query), self.norm_context(context))
        query = query + self.mlp(self.norm_query_mlp(query))
        return query, context


class MultiTaskDenoiser(nn.Module):
    """Per-task input layers and heads around shared cross-attention blocks.

    Args:
        in_channels (dict): ``{task: channels of its diffused map}``.
        out_channels (dict): ``{task: prediction channels}``.
        embed_dims (int): token / head channels (official: the backbone's
            last width, 512 for ResNet-18).
        head_channels (int): hidden width of the task heads (official 512).
        depth (int): cross-attention blocks (official 4).
        num_heads (int): attention heads (official 4).
        mlp_ratio (float): MLP width ratio (official 4).
        attn_downsample (int): the tokens are the maps at ``1/attn_downsample``
            of their resolution (official 4; at least 1x1).
    """

    def __init__(self, in_channels: Dict[str, int],
                 out_channels: Dict[str, int], embed_dims: int = 512,
                 head_channels: int = 512, depth: int = 4,
                 num_heads: int = 4, mlp_ratio: float = 4.,
                 attn_downsample: int = 4) -> None:
        super().__init__()
        if set(in_channels) != set(out_channels):
            raise ValueError(f'denoiser tasks differ: {sorted(in_channels)} '
                             f'vs {sorted(out_channels)}')
        if int(attn_downsample) < 1:
            raise ValueError(f'attn_downsample must be >= 1, got '
                             f'{attn_downsample}')
        e = embed_dims
        self.attn_downsample = int(attn_downsample)
        self.blocks = nn.ModuleList(
            CrossAttentionBlock(e, num_heads, mlp_ratio)
            for _ in range(depth))
        self.in_layers = nn.ModuleDict({
            t: nn.Conv2d(c, e, 3, padding=1)
            for t, c in in_channels.items()
        })
        self.heads = nn.ModuleDict({
            t: nn.Sequential(
                nn.Conv2d(e, e, 1), nn.Conv2d(e, head_channels, 3, padding=1),
                nn.ReLU(), nn.Conv2d(head_channels, e, 3, padding=1),
                nn.ReLU(), nn.Conv2d(e, e, 3, padding=1), nn.ReLU())
            for t in in_channels
        })
        self.pred_layers = nn.ModuleDict({
            t: nn.Conv2d(e, c, 1)
            for t, c in out_channels.items()
        })
        # official initialisation: transformer layers xavier / LayerNorm 1,0
        # (convolutions keep PyTorch's default); the step embedding after
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        self.step_embedding = TimestepEmbedding(e)

    def token_size(self, size: Tuple[int, int]) -> Tuple[int, int]:
        r = self.attn_downsample
        return max(1, size[0] // r), max(1, size[1] // r)

    def forward(self, noisy: Dict[str, Tensor], cond: Dict[str, Tensor],
                step: int, predict: bool) -> Dict[str, Tensor]:
        """Denoise every task of ``noisy`` at diffusion step ``step``.

        Args:
            noisy (dict): ``{task: (n_t, C_in, h, w)}``.
            cond (dict): ``{task: (n_t, E, h, w)}``, the multi-task
                condition of the same rows.
            step (int): the diffusion step of every row.
            predict (bool): apply the prediction layers (``C_t`` outputs);
                otherwise return the head features (``E`` channels).

        Returns:
            dict: ``{task: (n_t, C_t or E, h, w)}``.
        """
        tasks = list(noisy)
        if not tasks:
            return {}
        ref = noisy[tasks[0]]
        emb = self.step_embedding(
            torch.full((1, ), step, device=ref.device))[..., None, None]
        x0 = {t: self.in_layers[t](noisy[t]) + emb for t in tasks}
        size = x0[tasks[0]].shape[-2:]
        tok = self.token_size(size)
        query = torch.cat([resize(cond[t], tok) for t in tasks])
        context = torch.cat([resize(x0[t], tok) for t in tasks])
        n, e = query.shape[:2]
        query = query.flatten(2).transpose(1, 2)
        context = context.flatten(2).transpose(1, 2)
        for block in self.blocks:
            query, context = block(query, context)
        out = resize(query.transpose(1, 2).reshape(n, e, *tok), size)
        rows = out.split([x0[t].shape[0] for t in tasks])
        result = {}
        for t, r in zip(tasks, rows):
            y = self.heads[t](r + x0[t])
            result[t] = self.pred_layers[t](y) if predict else y
        return result
