# DiffusionMTL, Prediction Diffusion (the preliminary prediction maps are
# diffused instead of the preliminary features), otherwise as its base.
_base_ = ['./diffusionmtl_r18_1xb6-100e_pascal-context-512x512_onelabel.py']
model = dict(diffusion=dict(mode='prediction'))
