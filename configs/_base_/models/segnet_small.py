# A narrow MTAN SegNet for the synthetic CPU benchmark (same topology as
# the paper model, 1/8 of the widths).
model = dict(
    type='MultiTaskModel',
    # five 2x poolings: pad inputs to a multiple of 32 (labels padded as
    # invalid, predictions cropped back); sizes that divide stay unpadded
    data_preprocessor=dict(type='MultiTaskDataPreprocessor', size_divisor=32),
    backbone=dict(type='MTANSegNet', filters=(16, 32, 48, 64, 64)),
    heads=dict(type='ConvHead', in_channels=16, in_index=-1),
    feat_index=0,
    normalize='image',
    align_corners=True)
