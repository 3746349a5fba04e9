# Supervised MTL with every label (the partial-label upper bound) on the
# embedded synthetic scenes: the narrow MTAN SegNet and the CPU demo
# schedule. The root of the synthetic SegNet configs.
_base_ = [
    '../_base_/datasets/synthetic.py', '../_base_/models/segnet_small.py',
    '../_base_/schedules/synthetic_demo.py', '../_base_/default_runtime.py'
]
model = dict(tasks={{_base_.tasks}})
default_hooks = dict(
    visualization=dict(draw=True, interval=4, max_images=4))
