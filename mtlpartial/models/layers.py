# Copyright (c) mtlpartial contributors. All rights reserved.
"""Layer parts shared by the backbone, the heads and the regularizers'
networks: mmcv's ``ConvModule`` and mmengine weight-init configs."""
import warnings

from mmcv.cnn import ConvModule

#: mmengine ``init_cfg`` of the networks trained from scratch by MTAN,
#: MTPSL and JTR: Xavier-normal conv weights, zero bias (BN keeps 1, 0).
XAVIER_CONV_INIT = dict(
    type='Xavier', layer='Conv2d', distribution='normal', bias=0.)


class ConvNormAct(ConvModule):
    """mmcv ``ConvModule`` (conv → norm → activation) that leaves the
    initialisation to the module that owns it.

    mmcv's ``ConvModule`` re-draws its conv with Kaiming-normal (fan-out)
    at construction and again whenever ``init_weights()`` reaches it. That
    would replace PyTorch's default init of the official DGR heads
    (torchvision's ``DeepLabHead``) and, where the block is a direct child of
    an mmengine ``BaseModule``, the Xavier ``init_cfg`` of the MTAN / MTPSL /
    JTR networks (mmengine initialises children after their parent). Here
    the conv keeps PyTorch's default init until the owner's ``init_cfg`` (or
    an explicit :func:`mmengine.model.initialize`) sets it, and the norm
    starts at weight 1, bias 0 as usual; the random draws are those of a
    plain ``nn.Conv2d``.

    The official MTAN / MTPSL / JTR convs keep their bias before the norm
    (``bias=True``); mmcv's warning about that bias is not shown.

    Args and forward: those of :class:`mmcv.cnn.ConvModule`.
    """

    def __init__(self, *args, **kwargs) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                'ignore', message='Unnecessary conv bias before')
            super().__init__(*args, **kwargs)

    def init_weights(self) -> None:
        """Nothing: the owning module initialises the weights."""
