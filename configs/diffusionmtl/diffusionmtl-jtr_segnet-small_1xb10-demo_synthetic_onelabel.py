# DiffusionMTL + JTR (Nishi et al., CVPR 2024) on the final (denoised)
# predictions, synthetic scenes, onelabel. With a regularizer DiffusionMTL
# denoises every sample of the three views (JTR needs the unlabelled tasks'
# predictions), so a step costs more than plain DiffusionMTL.
_base_ = ['./diffusionmtl_segnet-small_1xb10-demo_synthetic_onelabel.py']
model = dict(regularizers=[
    dict(type='JTR', dist_weight=4.0, recon_dist_weight=2.0, recon_weight=2.0,
         channels=(16, 32, 48, 64, 64))
])
train_dataloader = dict(
    dataset=dict(pipeline={{_base_.train_pipeline_3views}}))
