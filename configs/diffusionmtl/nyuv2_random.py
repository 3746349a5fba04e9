# DiffusionMTL, Feature Diffusion, NYUv2 randomlabels (see nyuv2_onelabel.py).
_base_ = ['./nyuv2_onelabel.py']
train_dataloader = dict(
    dataset=dict(
        partial_labels=dict(
            type='OfficialMask',
            file='data/mtpsl_label_masks/nyuv2_randomlabels.pth')))
val_evaluator = dict(
    baseline={'semseg/mIoU': 27.05, 'depth/abs_err': 0.6626, 'normal/mean': 33.58})
test_evaluator = val_evaluator
