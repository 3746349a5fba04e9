# Depthwise-separable heads plus the edge-aware depth smoothness
# regularizer on the images whose depth is unlabelled (onelabel: 2/3 of
# the training images):
#   python tools/train.py projects/example_project/configs/\
# dsconv-head_edge-smooth_synthetic-onelabel.py
_base_ = ['./dsconv-head_synthetic-onelabel.py']
model = dict(regularizers=[
    dict(
        type='EdgeAwareSmoothness',
        task='depth',
        only_unlabelled=True,
        edge_weight=10.0,
        loss_weight=0.05)
])
