# Copyright (c) mtlpartial contributors. All rights reserved.
"""Ground-truth decoders of PASCAL-Context (Vandenhende's ``PASCAL_MT``).

They reproduce ``data/pascal_context.py`` of
SimonVandenhende/Multi-Task-Learning-PyTorch (the implementation MTPSL
says it used), without its skimage dependency: :func:`thin` is a numpy
port of ``skimage.morphology.thin`` (Lam, Lee & Suen 1992, the same
look-up tables and sub-iterations).
"""
from typing import Dict, Tuple

import cv2
import numpy as np
from scipy import ndimage

#: PASCAL-Context ids (``LabelMap`` values) of the classes that also exist
#: in NYUv2: the distilled normals are only valid there. Computed as in
#: Vandenhende (names of ``db_info/nyu_classes.json`` found in
#: ``db_info/context_classes.json``, minus 'unknown', plus 'tvmonitor').
NORMALS_VALID_CLASSES: Tuple[int, ...] = (
    3, 4, 6, 9, 10, 11, 13, 15, 17, 18, 22, 23, 29, 30, 33, 34, 36, 37,
    38, 39, 41, 43, 46, 49, 50, 51, 53, 55, 56, 59, 61, 62, 65, 66, 68,
    69, 72, 73, 78, 83, 84, 85, 87, 88, 95, 96, 101, 104, 105, 107, 111,
    113, 115, 122, 124, 135, 141, 142, 143, 146, 150, 154, 157, 158, 159,
    165, 172, 174, 181, 183, 184, 191, 193, 195, 197, 199, 202, 213, 215,
    216, 219, 220, 223, 225, 228, 230, 232, 233, 238, 239, 242, 243, 246,
    250, 251, 252, 255, 260, 261, 263, 269, 272, 273, 275, 281, 283, 284,
    285, 286, 287, 288, 290, 291, 292, 293, 295, 304, 307, 309, 310, 314,
    315, 319, 323, 329, 330, 331, 336, 342, 345, 349, 350, 351, 352, 355,
    357, 368, 370, 371, 374, 379, 380, 383, 384, 397, 401, 403, 405, 407,
    408, 411, 412, 413, 414, 417, 419, 421, 423, 427, 429, 430, 432, 440,
    441, 442, 443, 444, 446, 454, 457)

#: PASCAL-Part person part name -> class id, for 1, 4, 6 or 14 parts
#: (Vandenhende's ``HUMAN_PART``; 6 parts + background = 7 outputs is the
#: standard setting).
_PARTS_6 = dict(
    hair=1, head=1, lear=1, lebrow=1, leye=1, lfoot=6, lhand=4, llarm=4,
    llleg=6, luarm=3, luleg=5, mouth=1, neck=2, nose=1, rear=1, rebrow=1,
    reye=1, rfoot=6, rhand=4, rlarm=4, rlleg=6, ruarm=3, ruleg=5, torso=2)
_PARTS_4 = dict(
    hair=1, head=1, lear=1, lebrow=1, leye=1, lfoot=4, lhand=3, llarm=3,
    llleg=4, luarm=3, luleg=4, mouth=1, neck=2, nose=1, rear=1, rebrow=1,
    reye=1, rfoot=4, rhand=3, rlarm=3, rlleg=4, ruarm=3, ruleg=4, torso=2)
_PARTS_14 = dict(
    hair=1, head=1, lear=1, lebrow=1, leye=1, lfoot=14, lhand=8, llarm=7,
    llleg=13, luarm=6, luleg=12, mouth=1, neck=2, nose=1, rear=1, rebrow=1,
    reye=1, rfoot=11, rhand=5, rlarm=4, rlleg=10, ruarm=3, ruleg=9, torso=2)
HUMAN_PARTS: Dict[int, Dict[str, int]] = {
    1: {k: 1 for k in _PARTS_6},
    4: _PARTS_4,
    6: _PARTS_6,
    14: _PARTS_14
}
#: VOC class id of 'person'.
PERSON_CATEGORY = 15


def _thin_luts() -> Tuple[np.ndarray, np.ndarray]:
    """Deletion look-up tables of the two sub-iterations of Lam, Lee &
    Suen's thinning (as generated in skimage). Bit ``i`` of the index is
    neighbour ``x_{i+1}``: east, north-east, north, ..., south-east."""
    n = np.arange(256)
    bits = (n[:, None] >> np.arange(8)) & 1  # (256, 8)
    b = bits.astype(bool)
    # G1: crossing number X_H(p) == 1
    g1 = sum((~b[:, i]) & (b[:, i + 1] | b[:, (i + 2) % 8])
             for i in (0, 2, 4, 6)) == 1
    # G2: 2 <= min(n1, n2) <= 3
    n1 = sum(b[:, k] | b[:, k - 1] for k in (1, 3, 5, 7))
    n2 = sum(b[:, k] | b[:, (k + 1) % 8] for k in (1, 3, 5, 7))
    nmin = np.minimum(n1, n2)
    g2 = (nmin == 2) | (nmin == 3)
    # G3 / G3': (x2 | x3 | ~x8) & x1 == 0, and its 180-degree rotation
    g3 = ~((b[:, 1] | b[:, 2] | ~b[:, 7]) & b[:, 0])
    g3p = ~((b[:, 5] | b[:, 6] | ~b[:, 3]) & b[:, 4])
    return g1 & g2 & g3, g1 & g2 & g3p


_LUT1, _LUT2 = _thin_luts()
_NEIGHBOUR_WEIGHTS = np.array([[8, 4, 2], [16, 0, 1], [32, 64, 128]],
                              dtype=np.int32)


def thin(image: np.ndarray, max_num_iter: int = 10000) -> np.ndarray:
    """Morphological thinning of a binary image to 1-pixel-wide lines.

    Same algorithm and result as ``skimage.morphology.thin``: every
    iteration runs two vectorised sub-iterations (a 3x3 correlation that
    encodes the neighbourhood, then a table look-up of the deletion rule)
    until nothing changes.

    Args:
        image (np.ndarray): 2D array, non-zero = foreground.
        max_num_iter (int): iteration limit.

    Returns:
        np.ndarray: bool thinned image.
    """
    if image.ndim != 2:
        raise ValueError(f'thin expects a 2D image, got {image.shape}')
    skel = np.asarray(image).astype(bool).astype(np.int32)
    for _ in range(max_num_iter):
        before = int(skel.sum())
        for lut in (_LUT1, _LUT2):
            code = ndimage.correlate(
                skel, _NEIGHBOUR_WEIGHTS, mode='constant', cval=0)
            skel[lut[code] & (skel > 0)] = 0
        if int(skel.sum()) == before:
            break
    return skel.astype(bool)


def edges_from_label_map(label_map: np.ndarray) -> np.ndarray:
    """Vandenhende's edge ground truth: ``thin(|Laplacian(LabelMap)| > 0)``.

    Returns:
        np.ndarray: ``(H, W)`` uint8 in {0, 1}.
    """
    lap = cv2.Laplacian(np.ascontiguousarray(label_map).astype(np.float64),
                        cv2.CV_64F)
    return thin(np.abs(lap) > 0).astype(np.uint8)


def human_parts_from_mat(mat: dict, shape: Tuple[int, int], ignore_index: int,
                         num_parts: int = 6, where: str = '') -> np.ndarray:
    """Person-part labels from a PASCAL-Part ``.mat`` annotation.

    Follows Vandenhende's ``_load_human_parts`` + ``AddIgnoreRegions``:
    pixels of the parts of every person (VOC class 15) get their part id,
    the rest is background 0; an image without any person part is
    entirely ``ignore_index`` (so it does not teach "no person").

    Args:
        mat (dict): ``scipy.io.loadmat`` output (``anno`` -> objects with
            class, class_ind, mask, parts(part_name, mask)).
        shape (tuple): image ``(H, W)``.
        ignore_index (int): label of ignored pixels.
        num_parts (int): 1, 4, 6 or 14.
        where (str): file name for error messages.

    Returns:
        np.ndarray: ``(H, W)`` int64.
    """
    mapping = HUMAN_PARTS[num_parts]
    try:
        objects = mat['anno'][0][0][1][0]
    except (KeyError, IndexError, TypeError) as e:
        raise ValueError(f'{where}: not a PASCAL-Part annotation (expected '
                         f'anno.objects): {e!r}') from e
    target = None
    for obj in objects:
        is_person = int(np.asarray(obj[1]).ravel()[0]) == PERSON_CATEGORY
        parts = obj[3]
        if not is_person or len(parts) == 0:
            continue
        if target is None:
            target = np.zeros(np.asarray(obj[2]).shape, dtype=np.int64)
        for part in parts[0]:
            name = str(np.asarray(part[0]).ravel()[0])
            if name not in mapping:
                raise ValueError(f'{where}: unknown person part {name!r} '
                                 f'(known: {sorted(mapping)})')
            target[np.asarray(part[1]).astype(bool)] = mapping[name]
    if target is None or not (target > 0).any():
        return np.full(shape, ignore_index, dtype=np.int64)
    return target


def normals_from_png(rgb: np.ndarray, label_map: np.ndarray,
                     valid_classes: Tuple[int, ...]) -> np.ndarray:
    """Distilled normals: ``2 * x / 255 - 1`` kept on the classes in
    ``valid_classes`` (zero vector = invalid elsewhere), re-normalised
    to unit length (the 8-bit PNG quantisation leaves norms off by up to
    ~1%; Vandenhende does not re-normalise).

    Returns:
        np.ndarray: ``(H, W, 3)`` float32.
    """
    normals = 2. * rgb.astype(np.float32) / 255. - 1.
    valid = np.isin(label_map, np.asarray(valid_classes))
    norm = np.linalg.norm(normals, axis=2, keepdims=True)
    valid &= norm[..., 0] > 1e-6
    normals = np.where(valid[..., None], normals / np.maximum(norm, 1e-6),
                       0.).astype(np.float32)
    return normals
