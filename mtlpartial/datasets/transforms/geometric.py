# Copyright (c) mtlpartial contributors. All rights reserved.
"""Geometric transforms that keep image and ground truth aligned.

Every geometric transform updates two keys that describe where the current
image comes from, relative to the image as loaded (or to view 0 inside
:class:`MultiView`):

* ``crop_box``: ``(x0, y0, x1, y1)`` the region shown, normalised to
  ``[0, 1]`` reference coordinates (pixel edges: ``x0 = j / W``);
* ``flip``: whether the current image is horizontally flipped relative to
  that region.

So the current image is ``flip?(resize(crop(reference, crop_box)))``.
"""
import random
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform

from mtlpartial.registry import TRANSFORMS

IDENTITY_BOX = (0., 0., 1., 1.)


def compose_box(outer_box: Sequence[float], outer_flip: bool,
                inner_box: Sequence[float],
                inner_flip: bool) -> Tuple[np.ndarray, bool]:
    """Compose a region given in the coordinates of a (cropped, possibly
    flipped) image with that image's own region.

    Args:
        outer_box, outer_flip: region/flip of the current image in the
            reference frame.
        inner_box, inner_flip: region/flip of a new image in the current
            image's coordinates.

    Returns:
        tuple: the new image's ``(box, flip)`` in the reference frame.
    """
    ox0, oy0, ox1, oy1 = (float(v) for v in outer_box)
    ix0, iy0, ix1, iy1 = (float(v) for v in inner_box)
    ow, oh = ox1 - ox0, oy1 - oy0
    if outer_flip:
        x0, x1 = ox0 + (1 - ix1) * ow, ox0 + (1 - ix0) * ow
    else:
        x0, x1 = ox0 + ix0 * ow, ox0 + ix1 * ow
    y0, y1 = oy0 + iy0 * oh, oy0 + iy1 * oh
    return np.array([x0, y0, x1, y1]), bool(outer_flip) ^ bool(inner_flip)


def relative_box(box: Sequence[float], flip: bool, ref_box: Sequence[float],
                 ref_flip: bool) -> Tuple[np.ndarray, bool]:
    """Express a region (both regions in a common frame) in the
    normalised coordinates of the reference view ``(ref_box, ref_flip)``.

    The result may leave ``[0, 1]`` when the view shows content outside
    the reference view.
    """
    rx0, ry0, rx1, ry1 = (float(v) for v in ref_box)
    x = (np.array([box[0], box[2]], dtype=np.float64) - rx0) / (rx1 - rx0)
    y = (np.array([box[1], box[3]], dtype=np.float64) - ry0) / (ry1 - ry0)
    if ref_flip:
        x = 1 - x
    x.sort()
    return np.array([x[0], y[0], x[1], y[1]]), bool(flip) ^ bool(ref_flip)


def resize_nearest(arr: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of ``(h, w, ...)`` to ``size`` with the
    index rule of ``torch.nn.functional.interpolate(mode='nearest')``
    (``src = floor(dst * in / out)``), dtype preserved."""
    h, w = arr.shape[:2]
    out_h, out_w = size
    if (h, w) == (out_h, out_w):
        return arr
    rows = np.minimum((np.arange(out_h) * (h / out_h)).astype(np.int64),
                      h - 1)
    cols = np.minimum((np.arange(out_w) * (w / out_w)).astype(np.int64),
                      w - 1)
    return arr[rows[:, None], cols[None, :]]


def resize_bilinear(arr: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Bilinear resize with ``align_corners=True`` (MTAN/MTPSL/JTR) of a
    ``(h, w, C)`` array; returns float32."""
    if arr.shape[:2] == tuple(size):
        return arr.astype(np.float32, copy=False)
    t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    t = t.permute(2, 0, 1)[None]
    out = F.interpolate(t, size=tuple(size), mode='bilinear',
                        align_corners=True)
    return out[0].permute(1, 2, 0).numpy()


def resize_gt(gt: np.ndarray, size: Tuple[int, int], interp: str
              ) -> np.ndarray:
    """Resize a ``(h, w, C)`` ground truth with ``interp`` ('nearest' or
    'bilinear'), keeping its dtype."""
    if interp == 'nearest':
        return resize_nearest(gt, size)
    if interp == 'bilinear':
        return resize_bilinear(gt, size).astype(gt.dtype, copy=False)
    raise ValueError(f"unknown ground-truth interpolation {interp!r} "
                     "(expected 'nearest' or 'bilinear')")


def get_specs(results: dict) -> Dict:
    specs = results.get('task_specs')
    if specs is None:
        raise KeyError('results have no "task_specs"; mtlpartial transforms '
                       'need the datasets of mtlpartial.datasets (they put '
                       'the task specs into the results)')
    return specs


def check_single_view(results: dict, name: str) -> None:
    if results['img'].ndim != 3:
        raise ValueError(
            f'{name} got an image of shape {results["img"].shape}: '
            'geometric transforms work on one view (H, W, 3); put them '
            'before MultiView or in its view_transforms')


@TRANSFORMS.register_module()
class RandomScaleCrop(BaseTransform):
    """Random zoom-in of MTAN / MTPSL / JTR (mtan issue #34).

    ``s`` is drawn from ``scales``, a random ``int(H/s) x int(W/s)`` window
    is cropped and resized back to ``H x W``: bilinear with
    ``align_corners=True`` for the image, the task's ``gt_interp`` for the
    ground truth (nearest for segmentation, depth and binary maps;
    bilinear ``align_corners=True`` for normals, not re-normalised, as
    official). Values change through ``task.rescale_gt(gt, s)``: depth is
    divided by ``s``, inverse depth multiplied (the official Cityscapes
    loaders divide inverse depth too, a bug fixed by the task spec).

    Uses Python's global ``random`` like the official code (seeded per
    worker by mmengine).

    Required keys: img, gt_maps, task_specs. Modified keys: img, gt_maps,
    crop_box. Added keys: scale_crop ``(s, i, j, h, w)``.

    Args:
        scales (Sequence[float]): zoom factors >= 1. Defaults to
            (1.0, 1.2, 1.5).
    """

    def __init__(self, scales: Sequence[float] = (1.0, 1.2, 1.5)) -> None:
        scales = tuple(float(s) for s in scales)
        if not scales or min(scales) < 1:
            raise ValueError(f'RandomScaleCrop: scales must be >= 1, got '
                             f'{scales}')
        self.scales = scales

    def transform(self, results: dict) -> dict:
        check_single_view(results, 'RandomScaleCrop')
        specs = get_specs(results)
        img = results['img']
        height, width = img.shape[:2]
        sc = random.choice(self.scales)
        h, w = int(height / sc), int(width / sc)
        i = random.randint(0, height - h)
        j = random.randint(0, width - w)
        size = (height, width)
        results['img'] = resize_bilinear(img[i:i + h, j:j + w], size)
        gt_maps = {}
        for task, gt in results.get('gt_maps', {}).items():
            spec = specs[task]
            out = resize_gt(gt[i:i + h, j:j + w], size, spec.gt_interp)
            gt_maps[task] = spec.rescale_gt(out, sc)
        results['gt_maps'] = gt_maps
        box, flip = compose_box(
            results.get('crop_box', IDENTITY_BOX),
            results.get('flip', False),
            (j / width, i / height, (j + w) / width, (i + h) / height),
            False)
        results['crop_box'] = box
        results['flip'] = flip
        results['scale_crop'] = (sc, i, j, h, w)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scales={self.scales})'


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Random horizontal flip; the ground truth is flipped by
    ``task.flip_gt`` (normals negate their x component).

    Uses ``np.random`` (seeded per worker by mmengine).

    Required keys: img, gt_maps, task_specs. Modified keys: img, gt_maps,
    flip. Added keys: flip_direction.

    Args:
        prob (float): flip probability. Defaults to 0.5.
    """

    def __init__(self, prob: float = 0.5) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'RandomFlip: prob must be in [0, 1], got '
                             f'{prob}')
        self.prob = prob

    def transform(self, results: dict) -> Optional[dict]:
        check_single_view(results, 'RandomFlip')
        specs = get_specs(results)
        if np.random.rand() < self.prob:
            results['img'] = results['img'][:, ::-1].copy()
            results['gt_maps'] = {
                t: specs[t].flip_gt(gt)
                for t, gt in results.get('gt_maps', {}).items()
            }
            results['flip'] = not results.get('flip', False)
        results['flip_direction'] = 'horizontal'
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob})'
