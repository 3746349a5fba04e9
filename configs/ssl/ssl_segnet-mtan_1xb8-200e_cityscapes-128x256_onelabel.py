# SSL consistency baseline (MTPSL Eq. 2)
# Cityscapes 7-class + inverse depth, onelabel (official mask file).
_base_ = ['../supervised/supervised_segnet-mtan_1xb8-200e_cityscapes-128x256_onelabel.py']
model = dict(regularizers=[dict(type='SSLConsistency')])
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline_2views}}))
