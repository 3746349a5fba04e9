# DiffusionMTL, Prediction Diffusion (the preliminary prediction maps are
# diffused instead of the preliminary features), otherwise pascal_random.py.
_base_ = ['./pascal_random.py']
model = dict(diffusion=dict(mode='prediction'))
