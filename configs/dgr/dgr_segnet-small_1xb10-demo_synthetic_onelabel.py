# DGR (Shin et al., ECCV 2024): dummy gradient-norm regularization
# embedded synthetic scenes, onelabel.
_base_ = ['../supervised/supervised_segnet-small_1xb10-demo_synthetic_onelabel.py']
model = dict(regularizers=[dict(type='DGR', lambda_=0.1, h=1e-3, num_dummy=1, mode='fd')])
