# Copyright (c) mtlpartial contributors. All rights reserved.
"""Read the inputs of inference: image files, ``.npy`` arrays, RGB arrays.

Files are read with PIL, as the datasets read them. A grayscale image is
replicated to three channels and an alpha channel is dropped, each with a
warning naming the input; anything else that is not an 8-bit (or [0, 1]
float) RGB image is an error naming it.
"""
import os
import os.path as osp
import warnings
from typing import List, Optional, Sequence, Union

import numpy as np

from mtlpartial.datasets.base_multitask_dataset import check_image
from mtlpartial.datasets.mtan_npy_dataset import load_npy

ImageType = Union[str, os.PathLike, np.ndarray]
#: file extensions read as images (``.npy``: an array, MTAN layout).
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff',
                    '.webp', '.npy')


def load_image(img: ImageType, where: Optional[str] = None) -> np.ndarray:
    """Read and check one input; returns ``(H, W, 3)`` float32 in [0, 1].

    Args:
        img: an image file, a ``.npy`` file or an RGB array.
        where: the name used in messages for an array.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file cannot be read, or the image is not an RGB
            image (shape, dtype, range), naming the input.
    """
    if isinstance(img, (str, os.PathLike)):
        where = os.fspath(img)
        if not osp.isfile(where):
            raise FileNotFoundError(f'image file not found: {where}')
        arr = load_npy(where) if where.lower().endswith('.npy') \
            else read_image_file(where)
    elif isinstance(img, np.ndarray):
        where = where or 'array input'
        arr = img
    else:
        raise TypeError('an input must be an image path or a numpy array, '
                        f'got {type(img).__name__}')
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        warnings.warn(f'{where}: grayscale image, replicated to 3 channels')
        arr = np.repeat(arr[..., None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        warnings.warn(f'{where}: RGBA image, alpha channel dropped')
        arr = arr[..., :3]
    if arr.dtype.kind in 'iu' and arr.dtype != np.uint8:
        raise ValueError(f'{where}: integer images must be uint8 (0..255), '
                         f'got {arr.dtype}; convert 16-bit images to 8 bits')
    return check_image(arr, where)


def read_image_file(path: str) -> np.ndarray:
    """An image file as an array with PIL; alpha and grayscale kept (the
    caller converts them and says so)."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            mode = im.mode
            if mode == 'P':  # palette: to RGB(A), alpha handled after
                im = im.convert('RGBA' if 'transparency' in im.info else
                                'RGB')
            elif mode == 'LA':
                warnings.warn(f'{path}: alpha channel dropped')
                im = im.convert('L')
            elif mode == '1':
                im = im.convert('L')
            elif mode not in ('RGB', 'RGBA', 'L', 'I', 'I;16', 'I;16B',
                              'I;16L', 'F'):
                warnings.warn(f'{path}: {mode} image converted to RGB')
                im = im.convert('RGB')
            return np.array(im)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ValueError(f'{path}: cannot read image ({e})') from None


def list_images(folder: str) -> List[str]:
    """Image files of ``folder`` (not recursive), sorted by name."""
    names = sorted(n for n in os.listdir(folder)
                   if n.lower().endswith(IMAGE_EXTENSIONS)
                   and osp.isfile(osp.join(folder, n)))
    if not names:
        raise ValueError(f'{folder}: no image files '
                         f'({", ".join(IMAGE_EXTENSIONS)})')
    return [osp.join(folder, n) for n in names]


def output_names(inputs: Sequence[ImageType]) -> List[str]:
    """A distinct name per input: the file stem, ``array_<i>`` for arrays
    (``<stem>_<i>`` where stems repeat)."""
    stems = [
        osp.splitext(osp.basename(os.fspath(x)))[0]
        if isinstance(x, (str, os.PathLike)) else f'array_{i}'
        for i, x in enumerate(inputs)
    ]
    return [s if stems.count(s) == 1 else f'{s}_{i}'
            for i, s in enumerate(stems)]
