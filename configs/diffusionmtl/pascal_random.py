# DiffusionMTL, Feature Diffusion, PASCAL-Context randomlabels (official
# protocol, see pascal_onelabel.py).
_base_ = ['./pascal_onelabel.py']
train_dataloader = dict(
    dataset=dict(
        partial_labels=dict(
            type='OfficialMask',
            file='data/mtpsl_label_masks/pascal_randomlabels.npy')))
