# MTPSL (Li et al., CVPR 2022): conditional joint pairwise task mapping
# embedded synthetic scenes, randomlabels.
_base_ = ['./mtpsl_segnet-small_1xb10-demo_synthetic_onelabel.py']
partial_labels = {{_base_.label_settings.random}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
