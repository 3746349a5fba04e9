# Perceptual-Map baseline (MTPSL Sec. 3)
# Cityscapes 7-class + inverse depth, onelabel (official mask file).
_base_ = ['../supervised/supervised_segnet-mtan_1xb8-200e_cityscapes-128x256_onelabel.py']
model = dict(regularizers=[dict(type='PerceptualMap')])
