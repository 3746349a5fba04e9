# SSL consistency baseline (MTPSL Eq. 2)
# NYUv2, onelabel (official MTPSL/JTR mask file).
_base_ = ['../supervised/supervised_segnet-mtan_1xb2-200e_nyuv2-288x384_onelabel.py']
model = dict(regularizers=[dict(type='SSLConsistency')])
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline_2views}}))
