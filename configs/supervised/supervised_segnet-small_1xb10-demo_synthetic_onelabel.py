# The embedded default: supervised partial-label MTL on the synthetic
# scenes, onelabel setting. Trains on 2 CPU cores in a few minutes:
#   python tools/train.py configs/supervised/synthetic_onelabel.py
_base_ = ['./supervised_segnet-small_1xb10-demo_synthetic_full.py']
partial_labels = {{_base_.label_settings.onelabel}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
