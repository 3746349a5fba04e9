# Supervised partial-label MTL, PASCAL-Context randomlabels (official
# MTPSL split).
_base_ = ['./supervised_r18-d8-aspp_1xb6-100e_pascal-context-512x512_onelabel.py']
partial_labels = {{_base_.label_settings.random}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
