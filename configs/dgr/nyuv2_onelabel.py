# Short name, an entry point of the long-named config below
# (naming scheme: docs/configs.md).
_base_ = './dgr_r50-d8-aspp_1xb4-300e_nyuv2-288x384_onelabel.py'
