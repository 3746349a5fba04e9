# DiffusionMTL, Prediction Diffusion (the preliminary prediction maps are
# diffused instead of the preliminary features), otherwise as its base.
_base_ = ['./diffusionmtl_segnet-mtan_1xb8-200e_cityscapes-128x256_onelabel.py']
model = dict(diffusion=dict(mode='prediction'))
