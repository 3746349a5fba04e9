# JTR (Nishi et al., CVPR 2024): joint-task auto-encoder regularization
# NYUv2, onelabel (official MTPSL/JTR mask file).
_base_ = ['../supervised/supervised_segnet-mtan_1xb2-200e_nyuv2-288x384_onelabel.py']
model = dict(regularizers=[dict(type='JTR', dist_weight=4.0, recon_dist_weight=2.0, recon_weight=2.0)])
train_dataloader = dict(batch_size=4, dataset=dict(pipeline={{_base_.train_pipeline_3views}}))
# JTR protocol: Adam 1e-4 (as supervised), StepLR(step 200 epochs, gamma
# 0.5), 400 epochs
param_scheduler = [dict(type='StepLR', step_size=200, gamma=0.5, by_epoch=True)]
train_cfg = dict(max_epochs=400, val_interval=20)
