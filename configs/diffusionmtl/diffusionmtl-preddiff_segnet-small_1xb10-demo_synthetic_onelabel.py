# DiffusionMTL, Prediction Diffusion (the preliminary prediction maps are
# diffused instead of the preliminary features), otherwise as its base.
_base_ = ['./diffusionmtl_segnet-small_1xb10-demo_synthetic_onelabel.py']
model = dict(diffusion=dict(mode='prediction'))
