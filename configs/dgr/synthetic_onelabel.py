# DGR (Shin et al., ECCV 2024): dummy gradient-norm regularization
# embedded synthetic scenes, onelabel.
_base_ = [
    '../_base_/datasets/synthetic.py', '../_base_/models/segnet_small.py',
    '../_base_/schedules/synthetic_demo.py', '../_base_/default_runtime.py'
]
partial_labels = dict(type='OneLabel', seed=0)
model = dict(
    tasks={{_base_.tasks}},
    regularizers=[dict(type='DGR', lambda_=0.1, h=1e-3, num_dummy=1, mode='fd')])
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        partial_labels=partial_labels, pipeline={{_base_.train_pipeline}}))
default_hooks = dict(
    visualization=dict(draw=True, interval=4, max_images=4))
