# JTR with the stability options on the synthetic scenes, randomlabels.
_base_ = ['./jtr-stable_segnet-small_1xb10-demo_synthetic_onelabel.py']
partial_labels = {{_base_.label_settings.random}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
