# Supervised MTL with every label (the partial-label upper bound),
# embedded synthetic scenes.
_base_ = [
    '../_base_/datasets/synthetic.py', '../_base_/models/segnet_small.py',
    '../_base_/schedules/synthetic_demo.py', '../_base_/default_runtime.py'
]
partial_labels = dict(type='Full')
model = dict(tasks={{_base_.tasks}})
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        partial_labels=partial_labels, pipeline={{_base_.train_pipeline}}))
default_hooks = dict(
    visualization=dict(draw=True, interval=4, max_images=4))
