# MTPSL (Li et al., CVPR 2022): conditional joint pairwise task mapping
# Cityscapes 7-class + inverse depth, onelabel (official mask file).
_base_ = ['../supervised/supervised_segnet-mtan_1xb8-200e_cityscapes-128x256_onelabel.py']
model = dict(regularizers=[dict(type='MTPSL', con_weight=1.0, reg_weight=0.5, feat_channels=512)])
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline_2views}}))
# FiLM parameters: lr x0.1 (official: 1e-3 NYU / 1e-5 Cityscapes vs
# 1e-4 main; the official separate StepLR(30) of the FiLM group is
# approximated by the main schedule)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'film': dict(lr_mult=0.1)}))
