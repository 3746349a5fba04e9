# Short name, an entry point of the long-named config below
# (naming scheme: docs/configs.md).
_base_ = './gradnorm_segnet-mtan_1xb2-200e_nyuv2-288x384_random.py'
