# The embedded default: supervised partial-label MTL on the synthetic
# scenes, onelabel setting. Trains on 2 CPU cores in a few minutes:
#   python tools/train.py configs/supervised/synthetic_onelabel.py
_base_ = [
    '../_base_/datasets/synthetic.py', '../_base_/models/segnet_small.py',
    '../_base_/schedules/synthetic_demo.py', '../_base_/default_runtime.py'
]
partial_labels = dict(type='OneLabel', seed=0)
model = dict(tasks={{_base_.tasks}})
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
default_hooks = dict(
    visualization=dict(draw=True, interval=4, max_images=4))
