# Copyright (c) mtlpartial contributors. All rights reserved.
"""Fixed-size resize (Vandenhende's ``FixedResize`` for PASCAL-Context)."""
from typing import Sequence

from mmcv.transforms import BaseTransform

from mtlpartial.registry import TRANSFORMS
from .geometric import check_single_view, get_specs, resize_bilinear, \
    resize_gt


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize image and ground truth to a fixed ``(height, width)``.

    The image is resized bilinearly (``align_corners=True``), each ground
    truth with its task's ``gt_interp``. The region shown does not change
    (``crop_box`` is kept), so views stay aligned. Depth values are not
    rescaled: a resize is not a zoom.

    Required keys: img, gt_maps, task_specs. Modified keys: img, gt_maps,
    img_shape.

    Args:
        size (Sequence[int]): ``(height, width)``.
    """

    def __init__(self, size: Sequence[int]) -> None:
        if len(size) != 2 or min(int(s) for s in size) < 1:
            raise ValueError(f'Resize: size must be (height, width) > 0, '
                             f'got {size}')
        self.size = (int(size[0]), int(size[1]))

    def transform(self, results: dict) -> dict:
        check_single_view(results, 'Resize')
        specs = get_specs(results)
        results['img'] = resize_bilinear(results['img'], self.size)
        results['gt_maps'] = {
            t: resize_gt(gt, self.size, specs[t].gt_interp)
            for t, gt in results.get('gt_maps', {}).items()
        }
        results['img_shape'] = self.size
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'
