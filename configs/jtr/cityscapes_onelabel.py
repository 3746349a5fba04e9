# Short name, an entry point of the long-named config below
# (naming scheme: docs/configs.md).
_base_ = './jtr_segnet-mtan_1xb16-400e_cityscapes-128x256_onelabel.py'
