# SSL consistency baseline (MTPSL Eq. 2)
# embedded synthetic scenes, onelabel.
_base_ = ['../supervised/supervised_segnet-small_1xb10-demo_synthetic_onelabel.py']
model = dict(regularizers=[dict(type='SSLConsistency')])
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline_2views}}))
