# MTPSL (Li et al., CVPR 2022): conditional joint pairwise task mapping
# PASCAL-Context 5 tasks, onelabel (official MTPSL split).
_base_ = ['../supervised/supervised_r18-d8-aspp_1xb6-100e_pascal-context-512x512_onelabel.py']
model = dict(regularizers=[dict(type='MTPSL', con_weight=1.0, reg_weight=0.5, feat_channels=512)])
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline_2views}}))
# FiLM parameters: lr x10.0 (official: 1e-3 NYU / 1e-5 Cityscapes vs
# 1e-4 main; the official separate StepLR(30) of the FiLM group is
# approximated by the main schedule)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'film': dict(lr_mult=10.0)}))
