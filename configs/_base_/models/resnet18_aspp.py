# PASCAL-Context (Vandenhende / MTPSL): dilated ResNet-18 (output stride 8)
# with a DeepLabv3 ASPP head per task. Vandenhende starts from ImageNet
# weights: set model.backbone.init_cfg=dict(type='Pretrained',
# checkpoint='torchvision://resnet18') where it can be downloaded.
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='MultiTaskModel',
    data_preprocessor=dict(
        type='MultiTaskDataPreprocessor',
        mean=[0.485, 0.456, 0.406],
        std=[0.229, 0.224, 0.225]),
    backbone=dict(
        type='mmseg.ResNet',
        depth=18,
        num_stages=4,
        out_indices=(3, ),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    heads=dict(type='ASPPHead', in_channels=512, channels=256,
               dilations=(12, 24, 36)),
    feat_index=-1,
    normalize='image',
    align_corners=True)
