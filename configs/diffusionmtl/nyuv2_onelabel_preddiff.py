# DiffusionMTL, Prediction Diffusion (the preliminary prediction maps are
# diffused instead of the preliminary features), otherwise nyuv2_onelabel.py.
_base_ = ['./nyuv2_onelabel.py']
model = dict(diffusion=dict(mode='prediction'))
