# DiffusionMTL on the narrow MTAN SegNet of the synthetic CPU benchmark
# (1/8 of the paper widths): fused at output stride 4 (16x20 on 64x80
# scenes), width 32, 2 cross-attention blocks of 2 heads on 4x5 tokens.
embed_dims = 32
model = dict(
    type='DiffusionMTL',
    data_preprocessor=dict(type='MultiTaskDataPreprocessor'),
    backbone=dict(type='MTANSegNet', filters=(16, 32, 48, 64, 64)),
    neck=dict(
        type='MultiScaleFusionNeck',
        in_channels=[64, 16],
        out_channels=embed_dims,
        ref_index=1,
        scale_factor=1 / 4),
    heads=dict(type='PreliminaryHead', in_channels=embed_dims, num_blocks=2),
    diffusion=dict(
        type='MTDNet',
        embed_dims=embed_dims,
        mode='feature',
        num_timesteps=2,
        beta_start=1e-3,
        beta_end=1e-2,
        depth=2,
        num_heads=2,
        mlp_ratio=2.0,
        attn_downsample=4,
        head_channels=32),
    prelim_loss_weight=0.5,
    normalize='image',
    loss_scale=3.0,  # official K/|T_n| per sample (K = 3 tasks)
    feat_index=0,
    align_corners=False)
