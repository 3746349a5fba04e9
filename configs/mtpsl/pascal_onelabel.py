# MTPSL (Li et al., CVPR 2022): conditional joint pairwise task mapping
# PASCAL-Context 5 tasks, onelabel (official MTPSL split).
# Put the official mask files under data/mtpsl_label_masks/ (see docs/partial_labels.md).
_base_ = [
    '../_base_/datasets/pascal_context.py', '../_base_/models/resnet18_aspp.py',
    '../_base_/schedules/adam_100e_poly.py', '../_base_/default_runtime.py'
]
partial_labels = dict(type='OfficialMask', file='data/mtpsl_label_masks/pascal_onelabel.npy')
model = dict(
    tasks={{_base_.tasks}},
    regularizers=[dict(type='MTPSL', con_weight=1.0, reg_weight=0.5, feat_channels=512)])
train_dataloader = dict(
    batch_size=6,
    dataset=dict(
        partial_labels=partial_labels, pipeline={{_base_.train_pipeline_2views}}))
# FiLM parameters: lr x10.0 (official: 1e-3 NYU / 1e-5 Cityscapes vs 1e-4 main;
# the official separate StepLR(30) of the FiLM group is approximated by the main schedule)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'film': dict(lr_mult=10.0)}))
