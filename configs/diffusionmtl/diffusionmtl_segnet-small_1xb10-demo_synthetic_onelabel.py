# DiffusionMTL (Ye & Xu, CVPR 2024), Feature Diffusion, on the embedded
# synthetic scenes, onelabel (same data, schedule and seeds as the other
# methods' synthetic configs).
_base_ = [
    '../_base_/datasets/synthetic.py',
    '../_base_/models/diffusionmtl_segnet_small.py',
    '../_base_/schedules/synthetic_demo.py', '../_base_/default_runtime.py'
]
model = dict(tasks={{_base_.tasks}})
partial_labels = {{_base_.label_settings.onelabel}}
train_dataloader = dict(dataset=dict(partial_labels=partial_labels))
default_hooks = dict(
    visualization=dict(draw=True, interval=4, max_images=4))
