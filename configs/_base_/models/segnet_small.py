# A narrow MTAN SegNet for the synthetic CPU benchmark (same topology as
# the paper model, 1/8 of the widths).
_base_ = ['./segnet_mtan.py']
model = dict(
    backbone=dict(filters=(16, 32, 48, 64, 64)),
    heads=dict(in_channels=16))
