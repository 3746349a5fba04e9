# Direct-Map baseline (MTPSL Sec. 3)
# PASCAL-Context 5 tasks, onelabel (official MTPSL split).
_base_ = ['../supervised/supervised_r18-d8-aspp_1xb6-100e_pascal-context-512x512_onelabel.py']
model = dict(regularizers=[dict(type='DirectMap')])
