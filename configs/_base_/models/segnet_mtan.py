# MTAN SegNet from scratch with MTAN heads (MTPSL / JTR protocol).
# `tasks` is filled in by the root config of each dataset, from the
# dataset base (docs/configs.md).
model = dict(
    type='MultiTaskModel',
    # five 2x poolings: pad inputs to a multiple of 32 (labels padded as
    # invalid, predictions cropped back); sizes that divide stay unpadded
    data_preprocessor=dict(type='MultiTaskDataPreprocessor', size_divisor=32),
    backbone=dict(type='MTANSegNet', filters=(64, 128, 256, 512, 512)),
    heads=dict(type='ConvHead', in_channels=64, in_index=-1),
    feat_index=0,
    normalize='image',
    align_corners=True)
