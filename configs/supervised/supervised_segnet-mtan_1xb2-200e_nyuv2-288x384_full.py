# Supervised MTL on NYUv2 with every label (the partial-label upper
# bound), MTPSL/JTR protocol: MTAN SegNet from scratch, Adam 1e-4, 200
# epochs, batch 2. The root of the NYUv2 SegNet configs.
_base_ = [
    '../_base_/datasets/nyuv2.py', '../_base_/models/segnet_mtan.py',
    '../_base_/schedules/adam_200e.py', '../_base_/default_runtime.py'
]
model = dict(
    tasks={{_base_.tasks}},
    normalize='batch')  # official code: sum over labelled tasks / B
