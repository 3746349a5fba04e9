# DGR (Shin et al., ECCV 2024): dummy gradient-norm regularization
# embedded synthetic scenes, randomlabels.
_base_ = ['./dgr_segnet-small_1xb10-demo_synthetic_onelabel.py']
partial_labels = {{_base_.label_settings.random}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
