# DiffusionMTL on the MTAN SegNet of the MTPSL/JTR NYUv2 and Cityscapes
# protocol (the released code covers PASCAL only): the official model with
# the SegNet's outputs (the 1/32 bottleneck and the full-resolution decoder
# feature) fused at output stride 8, as the official ResNet levels; width
# 512 = the SegNet's deepest width, as the official 512 = ResNet-18's.
_base_ = ['./diffusionmtl_resnet18.py']
model = dict(
    # five 2x poolings: pad to a multiple of 32 (as segnet_mtan.py)
    data_preprocessor=dict(
        _delete_=True, type='MultiTaskDataPreprocessor', size_divisor=32),
    backbone=dict(
        _delete_=True, type='MTANSegNet', filters=(64, 128, 256, 512, 512)),
    neck=dict(in_channels=[512, 64], ref_index=1, scale_factor=1 / 8),
    loss_scale=3.0)  # official K/|T_n| per sample (K = 3 tasks on NYUv2)
