# DiffusionMTL, Prediction Diffusion (the preliminary prediction maps are
# diffused instead of the preliminary features), otherwise pascal_onelabel.py.
_base_ = ['./pascal_onelabel.py']
model = dict(diffusion=dict(mode='prediction'))
