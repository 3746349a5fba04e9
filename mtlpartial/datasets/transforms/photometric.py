# Copyright (c) mtlpartial contributors. All rights reserved.
"""Photometric transforms on float ``[0, 1]`` RGB images.

They change the image only (never the ground truth). An image of shape
``(V, H, W, 3)`` (after :class:`MultiView`) is augmented view by view with
independent random draws, as JTR augments each of its three views. Random
numbers come from ``np.random`` (seeded per worker by mmengine).
"""
from typing import Callable, Dict, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image, ImageOps

from mtlpartial.registry import TRANSFORMS

_GRAY = np.array([0.2989, 0.587, 0.114], dtype=np.float32)


def apply_per_view(results: dict, fn: Callable[[np.ndarray],
                                                np.ndarray]) -> dict:
    img = np.asarray(results['img'])
    if img.ndim == 3:
        results['img'] = fn(img.astype(np.float32, copy=False))
    elif img.ndim == 4:
        results['img'] = np.stack(
            [fn(v.astype(np.float32, copy=False)) for v in img])
    else:
        raise ValueError(f'expected an image (H, W, 3) or views (V, H, W, '
                         f'3), got {img.shape}')
    return results


# ------------------------------------------------------------ basic ops
def blend(img1: np.ndarray, img2, ratio: float) -> np.ndarray:
    """``clip(ratio * img1 + (1 - ratio) * img2, 0, 1)`` (torchvision)."""
    return np.clip(ratio * img1 + (1. - ratio) * img2, 0., 1.).astype(
        np.float32)


def grayscale(img: np.ndarray) -> np.ndarray:
    """``(H, W, 1)`` luminance with torchvision's weights."""
    return (img @ _GRAY)[..., None]


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Float ``[0, 1]`` -> uint8 by truncation, like torchvision's
    ``ToPILImage`` (``mul(255).byte()``) that JTR's PIL round trips use."""
    return (np.clip(img, 0., 1.) * 255.).astype(np.uint8)


def adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
    return blend(img, 0., factor)


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    return blend(img, grayscale(img), factor)


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    return blend(img, float(grayscale(img).mean()), factor)


def adjust_sharpness(img: np.ndarray, factor: float) -> np.ndarray:
    """torchvision ``adjust_sharpness``: blend with a 3x3 smoothed image
    (kernel 1s with 5 at the centre, / 13); border pixels unchanged."""
    if img.shape[0] <= 2 or img.shape[1] <= 2:
        return img
    kernel = np.ones((3, 3), dtype=np.float32)
    kernel[1, 1] = 5.
    kernel /= kernel.sum()
    smooth = cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REPLICATE)
    degenerate = img.copy()
    degenerate[1:-1, 1:-1] = smooth[1:-1, 1:-1]
    return blend(img, degenerate, factor)


def posterize(img: np.ndarray, bits: int) -> np.ndarray:
    mask = np.uint8((0xFF << (8 - int(bits))) & 0xFF)
    return (to_uint8(img) & mask).astype(np.float32) / 255.


def solarize(img: np.ndarray, threshold: float) -> np.ndarray:
    """PIL ``solarize`` on the uint8 image: values ``>= threshold`` (0..255
    scale) are inverted."""
    u8 = to_uint8(img)
    out = np.where(u8 >= threshold, 255 - u8, u8)
    return out.astype(np.float32) / 255.


def autocontrast(img: np.ndarray) -> np.ndarray:
    """Per-channel min-max stretch (torchvision ``autocontrast``)."""
    lo = img.min(axis=(0, 1), keepdims=True)
    hi = img.max(axis=(0, 1), keepdims=True)
    flat = hi <= lo
    lo = np.where(flat, 0., lo)
    scale = np.where(flat, 1., 1. / np.where(flat, 1., hi - lo))
    return np.clip((img - lo) * scale, 0., 1.).astype(np.float32)


def equalize(img: np.ndarray) -> np.ndarray:
    """PIL ``ImageOps.equalize`` on the uint8 image (JTR's round trip)."""
    out = ImageOps.equalize(Image.fromarray(to_uint8(img)))
    return np.asarray(out, dtype=np.float32) / 255.


@TRANSFORMS.register_module()
class PhotoMetricDistortion(BaseTransform):
    """mmseg's ``PhotoMetricDistortion`` for float ``[0, 1]`` images.

    In order, each with probability 0.5: brightness shift, contrast
    (first or last, at random), saturation scale, hue shift. HSV uses
    OpenCV's float convention (H in degrees).

    Modified keys: img.

    Args:
        brightness_delta (float): max brightness shift. Defaults to
            32/255 (mmseg's 32 on 0..255).
        contrast_range (tuple[float, float]): Defaults to (0.5, 1.5).
        saturation_range (tuple[float, float]): Defaults to (0.5, 1.5).
        hue_delta (float): max hue shift in degrees. Defaults to 36
            (mmseg's 18 on OpenCV's uint8 hue scale 0..180).
    """

    def __init__(self,
                 brightness_delta: float = 32. / 255.,
                 contrast_range: Tuple[float, float] = (0.5, 1.5),
                 saturation_range: Tuple[float, float] = (0.5, 1.5),
                 hue_delta: float = 36.) -> None:
        self.brightness_delta = float(brightness_delta)
        self.contrast_lower, self.contrast_upper = contrast_range
        self.saturation_lower, self.saturation_upper = saturation_range
        self.hue_delta = float(hue_delta)

    def _distort(self, img: np.ndarray) -> np.ndarray:
        rand = np.random
        if rand.randint(2):
            img = np.clip(
                img + rand.uniform(-self.brightness_delta,
                                   self.brightness_delta), 0., 1.)
        contrast_first = rand.randint(2) == 1
        if contrast_first and rand.randint(2):
            img = np.clip(
                img * rand.uniform(self.contrast_lower, self.contrast_upper),
                0., 1.)
        img = img.astype(np.float32)
        if rand.randint(2):
            hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
            hsv[..., 1] = np.clip(
                hsv[..., 1] * rand.uniform(self.saturation_lower,
                                           self.saturation_upper), 0., 1.)
            img = np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), 0., 1.)
        if rand.randint(2):
            hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
            hsv[..., 0] = np.mod(
                hsv[..., 0] + rand.uniform(-self.hue_delta, self.hue_delta),
                360.)
            img = np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), 0., 1.)
        if not contrast_first and rand.randint(2):
            img = np.clip(
                img * rand.uniform(self.contrast_lower, self.contrast_upper),
                0., 1.)
        return img.astype(np.float32)

    def transform(self, results: dict) -> dict:
        return apply_per_view(results, self._distort)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(brightness_delta='
                f'{self.brightness_delta}, contrast_range=('
                f'{self.contrast_lower}, {self.contrast_upper}), '
                f'saturation_range=({self.saturation_lower}, '
                f'{self.saturation_upper}), hue_delta={self.hue_delta})')


@TRANSFORMS.register_module()
class ImgAugment(BaseTransform):
    """JTR's RandAugment-style photometric augmentation
    (``code/datasets/randaugment.py``; geometric ops disabled as there).

    ``num_ops`` times: pick one of Identity, Brightness, Color, Contrast,
    Sharpness (factor ``1 ± linspace(0, 0.9, bins)[m]``, sign flipped with
    probability 0.5), Posterize (``8 - round(m / ((bins - 1) / 4))`` bits),
    Solarize (threshold ``linspace(255, 0, bins)[m]``), AutoContrast,
    Equalize, with ``m ~ U{0, ..., magnitude - 1}`` when
    ``magnitude_sampling`` (else ``m = magnitude``). Posterize, Solarize
    and Equalize act on the truncated uint8 image, like JTR's PIL round
    trip. Random numbers come from ``np.random`` instead of torch's.

    Modified keys: img.

    Args:
        num_ops (int): Defaults to 2.
        magnitude (int): Defaults to 6.
        num_magnitude_bins (int): Defaults to 31.
        magnitude_sampling (bool): Defaults to True.
        ops (Sequence[str], optional): subset of the op names.
    """

    OPS = ('Identity', 'Brightness', 'Color', 'Contrast', 'Sharpness',
           'Posterize', 'Solarize', 'AutoContrast', 'Equalize')

    def __init__(self,
                 num_ops: int = 2,
                 magnitude: int = 6,
                 num_magnitude_bins: int = 31,
                 magnitude_sampling: bool = True,
                 ops: Sequence[str] = OPS) -> None:
        bad = [o for o in ops if o not in self.OPS]
        if bad:
            raise ValueError(f'ImgAugment: unknown ops {bad}; known: '
                             f'{list(self.OPS)}')
        lo, hi = (1, num_magnitude_bins) if magnitude_sampling else (
            0, num_magnitude_bins - 1)
        if not lo <= magnitude <= hi:
            raise ValueError(f'ImgAugment: magnitude must be in [{lo}, '
                             f'{hi}], got {magnitude}')
        self.num_ops = int(num_ops)
        self.magnitude = int(magnitude)
        self.bins = int(num_magnitude_bins)
        self.magnitude_sampling = magnitude_sampling
        self.ops = tuple(ops)
        b = self.bins
        factors = np.linspace(0., 0.9, b)
        self.space: Dict[str, Tuple[np.ndarray, bool]] = dict(
            Brightness=(factors, True),
            Color=(factors, True),
            Contrast=(factors, True),
            Sharpness=(factors, True),
            Posterize=(8 - np.round(np.arange(b) / ((b - 1) / 4)), False),
            Solarize=(np.linspace(255., 0., b), False))

    def _augment(self, img: np.ndarray) -> np.ndarray:
        for _ in range(self.num_ops):
            op = self.ops[np.random.randint(len(self.ops))]
            m = (np.random.randint(self.magnitude)
                 if self.magnitude_sampling else self.magnitude)
            values, signed = self.space.get(op, (None, False))
            mag = float(values[m]) if values is not None else 0.
            if signed and np.random.randint(2):
                mag = -mag
            img = self.apply_op(img, op, mag)
        return img

    @staticmethod
    def apply_op(img: np.ndarray, op: str, mag: float) -> np.ndarray:
        """Apply the named op with magnitude value ``mag``."""
        if op == 'Brightness':
            return adjust_brightness(img, 1. + mag)
        if op == 'Color':
            return adjust_saturation(img, 1. + mag)
        if op == 'Contrast':
            return adjust_contrast(img, 1. + mag)
        if op == 'Sharpness':
            return adjust_sharpness(img, 1. + mag)
        if op == 'Posterize':
            return posterize(img, int(mag))
        if op == 'Solarize':
            return solarize(img, mag)
        if op == 'AutoContrast':
            return autocontrast(img)
        if op == 'Equalize':
            return equalize(img)
        return img  # Identity

    def transform(self, results: dict) -> dict:
        return apply_per_view(results, self._augment)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_ops={self.num_ops}, '
                f'magnitude={self.magnitude}, num_magnitude_bins='
                f'{self.bins}, magnitude_sampling={self.magnitude_sampling})')
