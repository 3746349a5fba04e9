# DiffusionMTL, Feature Diffusion, PASCAL-Context 5 tasks randomlabels
# (see diffusionmtl_r18_1xb6-100e_pascal-context-512x512_onelabel.py).
_base_ = ['./diffusionmtl_r18_1xb6-100e_pascal-context-512x512_onelabel.py']
partial_labels = {{_base_.label_settings.random}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
