# DGR / Auto-Lambda protocol: ResNet-50 dilated (output stride 8, from
# scratch) with a DeepLabv3 ASPP head per task: the ResNet-18 model of
# resnet18_aspp.py (mmseg ResNet with a torchvision-style stem, as the
# official code; `contract_dilation=True, strides (1, 2, 1, 1), dilations
# (1, 1, 2, 4)` gives the D8 variant) at depth 50.
_base_ = ['./resnet18_aspp.py']
model = dict(
    data_preprocessor=dict(
        mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5]),  # DGR: images in [-1, 1]
    backbone=dict(depth=50),
    heads=dict(in_channels=2048),
    normalize='batch')
