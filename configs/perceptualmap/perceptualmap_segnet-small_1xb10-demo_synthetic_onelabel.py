# Perceptual-Map baseline (MTPSL Sec. 3)
# embedded synthetic scenes, onelabel.
_base_ = ['../supervised/supervised_segnet-small_1xb10-demo_synthetic_onelabel.py']
model = dict(regularizers=[dict(type='PerceptualMap')])
