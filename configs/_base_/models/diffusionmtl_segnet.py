# DiffusionMTL on the MTAN SegNet of the MTPSL/JTR NYUv2 and Cityscapes
# protocol (the released code covers PASCAL only). The SegNet outputs (the
# 1/32 bottleneck and the full-resolution decoder feature) are fused at
# output stride 8, as the official ResNet model; width 512 = the SegNet's
# deepest width, as the official 512 = ResNet-18's.
embed_dims = 512
model = dict(
    type='DiffusionMTL',
    data_preprocessor=dict(type='MultiTaskDataPreprocessor'),
    backbone=dict(type='MTANSegNet', filters=(64, 128, 256, 512, 512)),
    neck=dict(
        type='MultiScaleFusionNeck',
        in_channels=[512, 64],
        out_channels=embed_dims,
        ref_index=1,
        scale_factor=1 / 8),
    heads=dict(type='PreliminaryHead', in_channels=embed_dims, num_blocks=2),
    diffusion=dict(
        type='MTDNet',
        embed_dims=embed_dims,
        mode='feature',
        num_timesteps=2,
        beta_start=1e-3,
        beta_end=1e-2,
        depth=4,
        num_heads=4,
        mlp_ratio=4.0,
        attn_downsample=4,
        head_channels=512),
    prelim_loss_weight=0.5,
    normalize='image',
    loss_scale=3.0,  # official K/|T_n| per sample (K = 3 tasks on NYUv2)
    feat_index=0,
    align_corners=False)
