# MTPSL (Li et al., CVPR 2022): conditional joint pairwise task mapping
# embedded synthetic scenes, onelabel.
_base_ = ['../supervised/supervised_segnet-small_1xb10-demo_synthetic_onelabel.py']
model = dict(regularizers=[
    dict(type='MTPSL', con_weight=2.0, reg_weight=0.5, feat_channels=64,
         channels=(16, 32, 48, 64, 64), in_width=16)
])
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipeline_2views}}))
# FiLM parameters: lr x10.0 (official: 1e-3 NYU / 1e-5 Cityscapes vs
# 1e-4 main; the official separate StepLR(30) of the FiLM group is
# approximated by the main schedule)
# the mapping network and FiLM learning rates (official absolute values)
# are set for every synthetic config in _base_/schedules/synthetic_demo.py
