# MTPSL (Li et al., CVPR 2022): conditional joint pairwise task mapping
# NYUv2, onelabel (official MTPSL/JTR mask file).
_base_ = ['../supervised/supervised_segnet-mtan_1xb2-200e_nyuv2-288x384_onelabel.py']
model = dict(regularizers=[dict(type='MTPSL', con_weight=2.0, reg_weight=0.5, feat_channels=512)])
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline_2views}}))
# FiLM parameters: lr x10.0 (official: 1e-3 NYU / 1e-5 Cityscapes vs
# 1e-4 main; the official separate StepLR(30) of the FiLM group is
# approximated by the main schedule)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'film': dict(lr_mult=10.0)}))
