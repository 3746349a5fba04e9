# Short name, an entry point of the long-named config below
# (naming scheme: docs/configs.md).
_base_ = './diffusionmtl_r18_1xb6-100e_pascal-context-512x512_random.py'
