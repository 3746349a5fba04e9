# DGR / Auto-Lambda protocol: ResNet-50 dilated (output stride 8, from
# scratch) with a DeepLabv3 ASPP head per task. The mmseg ResNet is
# reused by prefix; `contract_dilation=True, strides (1, 2, 1, 1),
# dilations (1, 1, 2, 4)` gives the D8 variant.
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='MultiTaskModel',
    data_preprocessor=dict(
        type='MultiTaskDataPreprocessor',
        mean=[0.5, 0.5, 0.5],
        std=[0.5, 0.5, 0.5]),  # DGR maps images to [-1, 1]
    backbone=dict(
        type='mmseg.ResNet',  # torchvision-style stem, as the official code
        depth=50,
        num_stages=4,
        out_indices=(3, ),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    heads=dict(type='ASPPHead', in_channels=2048, channels=256,
               dilations=(12, 24, 36)),
    feat_index=-1,
    normalize='batch',
    align_corners=True)
