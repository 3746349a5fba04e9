# DiffusionMTL, Prediction Diffusion (the preliminary prediction maps are
# diffused instead of the preliminary features), otherwise synthetic_random.py.
_base_ = ['./synthetic_random.py']
model = dict(diffusion=dict(mode='prediction'))
