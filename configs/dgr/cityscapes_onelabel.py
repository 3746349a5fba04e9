# Short name, an entry point of the long-named config below
# (naming scheme: docs/configs.md).
_base_ = './dgr_segnet-mtan_1xb8-200e_cityscapes-128x256_onelabel.py'
