# DGR (Shin et al., ECCV 2024): dummy gradient-norm regularization
# PASCAL-Context 5 tasks, onelabel (official MTPSL split).
_base_ = ['../supervised/supervised_r18-d8-aspp_1xb6-100e_pascal-context-512x512_onelabel.py']
model = dict(regularizers=[dict(type='DGR', lambda_=0.1, h=1e-3, num_dummy=1, mode='fd')])
