# Copyright (c) mtlpartial contributors. All rights reserved.
"""Use any mmseg decode head as a task head."""
from typing import Sequence, Union

from mmengine.model import BaseModule
from torch import Tensor

from mtlpartial.registry import MODELS


@MODELS.register_module()
class MMSegHeadAdapter(BaseModule):
    """Wrap an mmseg decode head (e.g. ``mmseg.FCNHead``) as a task head.

    mmseg heads own their losses; here only their ``forward`` is used and
    ``num_classes`` is set to the task's output channels, so task specs keep
    control of losses and metrics.

    Args:
        head (dict): the mmseg head config, e.g. ``dict(type='mmseg.FCNHead',
            in_channels=64, channels=64, num_convs=1)``. ``num_classes``
            (and ``out_channels``) are filled in.
        out_channels (int): output channels (set from the task spec).
    """

    def __init__(self, head: dict, out_channels: int, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        cfg = dict(head)
        cfg['num_classes'] = out_channels
        cfg['out_channels'] = out_channels
        # mmseg heads need a loss config to build; it is never used here.
        cfg.setdefault('loss_decode',
                       dict(type='mmseg.CrossEntropyLoss', loss_weight=0.0))
        if out_channels == 1:
            cfg['threshold'] = cfg.get('threshold', 0.5)
        self.head = MODELS.build(cfg)

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        feats = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        return self.head(feats)
