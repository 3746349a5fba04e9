# Copyright (c) mtlpartial contributors. All rights reserved.
from .base_multitask_dataset import MultiTaskDataset
from .cityscapes_dataset import CityscapesDataset
from .hooks import *  # noqa: F401,F403
from .nyuv2_dataset import NYUv2Dataset
from .partial_labels import *  # noqa: F401,F403
from .pascal_context_dataset import PascalContextDataset
from .samplers import *  # noqa: F401,F403
from .synthetic import *  # noqa: F401,F403
from .synthetic.synthetic_dataset import SyntheticSceneDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'MultiTaskDataset', 'NYUv2Dataset', 'CityscapesDataset',
    'PascalContextDataset', 'SyntheticSceneDataset'
]
