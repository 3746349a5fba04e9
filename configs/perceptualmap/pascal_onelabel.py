# Short name, an entry point of the long-named config below
# (naming scheme: docs/configs.md).
_base_ = './perceptualmap_r18-d8-aspp_1xb6-100e_pascal-context-512x512_onelabel.py'
