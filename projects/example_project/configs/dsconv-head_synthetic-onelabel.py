# The default synthetic onelabel recipe with the example plugin's
# depthwise-separable conv heads instead of the MTAN ConvHead:
#   python tools/train.py \
#       projects/example_project/configs/dsconv-head_synthetic-onelabel.py
_base_ = ['../../../configs/supervised/synthetic_onelabel.py']
custom_imports = dict(
    imports=['projects.example_project.example_plugin'],
    allow_failed_imports=False)
model = dict(
    heads=dict(
        _delete_=True,
        type='DepthwiseSeparableConvHead',
        in_channels=16,
        channels=32,
        num_convs=2,
        in_index=-1))
