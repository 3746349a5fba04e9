# Copyright (c) mtlpartial contributors. All rights reserved.
from .base_regularizer import BaseRegularizer, RegularizerContext
from .cross_task_maps import (DirectMap, PairMapNet, PairwiseMapRegularizer,
                              PerceptualMap)
from .dgr import DGR
from .jtr import JTR, SegNetAutoEncoder
from .mtpsl import MTPSL
from .mtpsl_nets import ConditionalMappingNet, FiLMConv, PairDiscriminator
from .ssl_consistency import SSLConsistency

__all__ = [
    'BaseRegularizer', 'RegularizerContext', 'MTPSL', 'SSLConsistency',
    'DirectMap', 'PerceptualMap', 'PairwiseMapRegularizer', 'JTR', 'DGR',
    'ConditionalMappingNet', 'FiLMConv', 'PairDiscriminator',
    'SegNetAutoEncoder', 'PairMapNet'
]
