# Short name, an entry point of the long-named config below
# (naming scheme: docs/configs.md).
_base_ = './dgr-pcgrad_segnet-small_1xb10-demo_synthetic_onelabel.py'
