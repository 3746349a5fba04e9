# JTR (Nishi et al., CVPR 2024): joint-task auto-encoder regularization
# embedded synthetic scenes, onelabel.
_base_ = ['../supervised/supervised_segnet-small_1xb10-demo_synthetic_onelabel.py']
model = dict(regularizers=[
    dict(type='JTR', dist_weight=4.0, recon_dist_weight=2.0, recon_weight=2.0,
         channels=(16, 32, 48, 64, 64))
])
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline_3views}}))
