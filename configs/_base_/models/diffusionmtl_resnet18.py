# DiffusionMTL, official PASCAL-Context model (Ye & Xu, CVPR 2024): ResNet-18
# (torchvision layout, output strides 4-32), the four levels fused at output
# stride 8 (Conv3x3 960 -> 512), per-task preliminary decoders (two basic
# blocks) and heads, and MTDNet (Feature Diffusion, 2 steps).
# ImageNet weights (official: pretrained=True) go in the backbone's init_cfg:
#   model.backbone.init_cfg=dict(type='Pretrained',
#                                checkpoint='torchvision://resnet18')
# (not set here: they cannot be downloaded in this environment).
norm_cfg = dict(type='BN', requires_grad=True)
embed_dims = 512
model = dict(
    type='DiffusionMTL',
    data_preprocessor=dict(
        type='MultiTaskDataPreprocessor',
        mean=[0.485, 0.456, 0.406],
        std=[0.229, 0.224, 0.225]),
    backbone=dict(
        type='mmseg.ResNet',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(
        type='MultiScaleFusionNeck',
        in_channels=[64, 128, 256, 512],
        out_channels=embed_dims,
        ref_index=0,
        scale_factor=0.5),
    heads=dict(
        type='PreliminaryHead', in_channels=embed_dims, num_blocks=2,
        norm_cfg=norm_cfg),
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
    # official loss: per sample K/|T_n| * sum over labelled tasks (K = 5)
    normalize='image',
    loss_scale=5.0,
    feat_index=0,
    align_corners=False)
