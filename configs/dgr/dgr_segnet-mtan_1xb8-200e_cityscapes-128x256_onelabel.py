# DGR (Shin et al., ECCV 2024): dummy gradient-norm regularization
# Cityscapes 7-class + inverse depth, onelabel (official mask file).
_base_ = ['../supervised/supervised_segnet-mtan_1xb8-200e_cityscapes-128x256_onelabel.py']
# the model base's per-image loss normalisation, not the root's 'batch'
model = dict(normalize='image', regularizers=[dict(type='DGR', lambda_=0.1, h=1e-3, num_dummy=1, mode='fd')])
