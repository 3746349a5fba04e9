# Perceptual-Map baseline (MTPSL Sec. 3)
# PASCAL-Context 5 tasks, randomlabels (official MTPSL split).
_base_ = ['./perceptualmap_r18-d8-aspp_1xb6-100e_pascal-context-512x512_onelabel.py']
partial_labels = {{_base_.label_settings.random}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
