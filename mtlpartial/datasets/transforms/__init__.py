# Copyright (c) mtlpartial contributors. All rights reserved.
from .formatting import PackMultiTaskInputs
from .geometric import (RandomFlip, RandomScaleCrop, compose_box,
                        relative_box, resize_bilinear, resize_gt,
                        resize_nearest)
from .multiview import MultiView
from .photometric import ImgAugment, PhotoMetricDistortion
from .resize import Resize

__all__ = [
    'RandomScaleCrop', 'RandomFlip', 'MultiView', 'PhotoMetricDistortion',
    'ImgAugment', 'PackMultiTaskInputs', 'Resize', 'compose_box',
    'relative_box',
    'resize_nearest', 'resize_bilinear', 'resize_gt'
]
