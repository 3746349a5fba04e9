# JTR (Nishi et al., CVPR 2024): joint-task auto-encoder regularization
# PASCAL-Context 5 tasks, onelabel (official MTPSL split).
_base_ = ['../supervised/supervised_r18-d8-aspp_1xb6-100e_pascal-context-512x512_onelabel.py']
model = dict(regularizers=[dict(type='JTR', dist_weight=4.0, recon_dist_weight=2.0, recon_weight=2.0)])
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline_3views}}))
