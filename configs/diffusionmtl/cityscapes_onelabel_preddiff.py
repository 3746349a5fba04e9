# DiffusionMTL, Prediction Diffusion (the preliminary prediction maps are
# diffused instead of the preliminary features), otherwise cityscapes_onelabel.py.
_base_ = ['./cityscapes_onelabel.py']
model = dict(diffusion=dict(mode='prediction'))
