# DiffusionMTL, Prediction Diffusion (the preliminary prediction maps are
# diffused instead of the preliminary features), otherwise synthetic_onelabel.py.
_base_ = ['./synthetic_onelabel.py']
model = dict(diffusion=dict(mode='prediction'))
