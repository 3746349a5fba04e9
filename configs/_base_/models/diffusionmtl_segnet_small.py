# DiffusionMTL on the narrow MTAN SegNet of the synthetic CPU benchmark
# (1/8 of the paper widths): fused at output stride 4 (16x20 on 64x80
# scenes), width 32, 2 cross-attention blocks of 2 heads on 4x5 tokens.
_base_ = ['./diffusionmtl_segnet.py']
model = dict(
    backbone=dict(filters=(16, 32, 48, 64, 64)),
    neck=dict(in_channels=[64, 16], out_channels=32, scale_factor=1 / 4),
    heads=dict(in_channels=32),
    diffusion=dict(
        embed_dims=32, depth=2, num_heads=2, mlp_ratio=2.0,
        head_channels=32))
