# DiffusionMTL, Feature Diffusion, synthetic scenes, randomlabels.
_base_ = ['./synthetic_onelabel.py']
train_dataloader = dict(
    dataset=dict(partial_labels=dict(type='RandomLabels', seed=0)))
