# SSL consistency baseline (MTPSL Eq. 2)
# PASCAL-Context 5 tasks, onelabel (official MTPSL split).
_base_ = ['../supervised/supervised_r18-d8-aspp_1xb6-100e_pascal-context-512x512_onelabel.py']
model = dict(regularizers=[dict(type='SSLConsistency')])
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline_2views}}))
