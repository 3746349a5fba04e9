# DiffusionMTL, Feature Diffusion, embedded synthetic scenes randomlabels
# (see diffusionmtl_segnet-small_1xb10-demo_synthetic_onelabel.py).
_base_ = ['./diffusionmtl_segnet-small_1xb10-demo_synthetic_onelabel.py']
partial_labels = {{_base_.label_settings.random}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
