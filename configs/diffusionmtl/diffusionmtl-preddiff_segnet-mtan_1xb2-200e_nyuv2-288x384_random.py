# DiffusionMTL, Prediction Diffusion (the preliminary prediction maps are
# diffused instead of the preliminary features), otherwise as its base.
_base_ = ['./diffusionmtl_segnet-mtan_1xb2-200e_nyuv2-288x384_random.py']
model = dict(diffusion=dict(mode='prediction'))
