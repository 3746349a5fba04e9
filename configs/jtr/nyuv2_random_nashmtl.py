# Short name, an entry point of the long-named config below
# (naming scheme: docs/configs.md).
_base_ = './jtr-nashmtl_segnet-mtan_1xb4-400e_nyuv2-288x384_random.py'
