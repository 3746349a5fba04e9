# Copyright (c) mtlpartial contributors. All rights reserved.
"""Writers of tiny, valid on-disk datasets in the real layouts.

* :func:`write_fake_nyuv2`: MTAN ``.npy`` NYUv2 (13 classes, -1 ignore,
  depth HxWx1 with 0 = invalid, unit normals with zero = invalid);
* :func:`write_fake_cityscapes`: MTAN ``.npy`` Cityscapes (label_7,
  label_19, inverse depth);
* :func:`write_fake_pascal`: Vandenhende's ``PASCAL_MT`` layout (JPEG
  images, PNG/MAT ground truth, split files).

The content is random but structured (a few rectangles per image) so that
edges, parts and valid-normal regions exist. Every writer is deterministic
in ``seed`` and returns the root it wrote.
"""
import os
import os.path as osp
from typing import List

import numpy as np


def _makedirs(*parts: str) -> str:
    path = osp.join(*parts)
    os.makedirs(path, exist_ok=True)
    return path


def _rect_labels(rng: np.random.Generator, h: int, w: int, values,
                 background: int = 0, num_rects: int = 3) -> np.ndarray:
    """An int map with a few random axis-aligned rectangles."""
    out = np.full((h, w), background, dtype=np.int64)
    for _ in range(num_rects):
        y0, x0 = rng.integers(0, h - 2), rng.integers(0, w - 2)
        y1 = rng.integers(y0 + 2, h + 1)
        x1 = rng.integers(x0 + 2, w + 1)
        out[y0:y1, x0:x1] = rng.choice(values)
    return out


def _unit_normals(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    n = rng.normal(size=(h, w, 3))
    n[..., 2] = np.abs(n[..., 2]) + 0.5
    return n / np.linalg.norm(n, axis=2, keepdims=True)


def write_fake_nyuv2(root: str,
                     n_train: int = 4,
                     n_val: int = 2,
                     h: int = 24,
                     w: int = 32,
                     seed: int = 0) -> str:
    """Write ``root/{train,val}/{image,label,depth,normal}/{i}.npy``.

    Images are float64 in [0, 1]; labels 0..12 with -1 (ignore) in the
    first row; depth in metres with a zero (invalid) column; normals unit
    vectors with the zero vector in the same column.
    """
    rng = np.random.default_rng(seed)
    for split, n in (('train', n_train), ('val', n_val)):
        dirs = {
            k: _makedirs(root, split, k)
            for k in ('image', 'label', 'depth', 'normal')
        }
        for i in range(n):
            img = rng.random((h, w, 3))
            label = _rect_labels(rng, h, w, np.arange(13)).astype(np.float64)
            label[0] = -1
            depth = rng.uniform(0.5, 8.0, size=(h, w, 1))
            depth[:, 0] = 0
            normal = _unit_normals(rng, h, w)
            normal[:, 0] = 0
            np.save(osp.join(dirs['image'], f'{i}.npy'), img)
            np.save(osp.join(dirs['label'], f'{i}.npy'), label)
            np.save(osp.join(dirs['depth'], f'{i}.npy'), depth)
            np.save(osp.join(dirs['normal'], f'{i}.npy'), normal)
    return root


def write_fake_cityscapes(root: str,
                          n_train: int = 4,
                          n_val: int = 2,
                          h: int = 16,
                          w: int = 32,
                          seed: int = 0) -> str:
    """Write ``root/{train,val}/{image,label_7,label_19,depth}/{i}.npy``
    (inverse depth in [0, 0.49], 0 = invalid)."""
    rng = np.random.default_rng(seed)
    for split, n in (('train', n_train), ('val', n_val)):
        dirs = {
            k: _makedirs(root, split, k)
            for k in ('image', 'label_7', 'label_19', 'depth')
        }
        for i in range(n):
            label19 = _rect_labels(rng, h, w, np.arange(19))
            label7 = label19 % 7
            label19 = label19.astype(np.float64)
            label7 = label7.astype(np.float64)
            label19[-1], label7[-1] = -1, -1
            depth = rng.uniform(0.01, 0.49, size=(h, w, 1))
            depth[-1] = 0
            np.save(osp.join(dirs['image'], f'{i}.npy'), rng.random((h, w, 3)))
            np.save(osp.join(dirs['label_7'], f'{i}.npy'), label7)
            np.save(osp.join(dirs['label_19'], f'{i}.npy'), label19)
            np.save(osp.join(dirs['depth'], f'{i}.npy'), depth)
    return root


def _parts_struct(objects: List[dict]) -> dict:
    """A PASCAL-Part ``anno`` struct for ``scipy.io.savemat``."""
    obj_dtype = [('class', 'O'), ('class_ind', 'O'), ('mask', 'O'),
                 ('parts', 'O')]
    objs = np.empty((1, len(objects)), dtype=obj_dtype)
    for k, obj in enumerate(objects):
        parts = obj['parts']
        if parts:
            parr = np.empty((1, len(parts)), dtype=[('part_name', 'O'),
                                                    ('mask', 'O')])
            for m, (name, mask) in enumerate(parts):
                parr[0, m] = (name, mask.astype(np.uint8))
        else:
            parr = np.zeros((0, 0))
        objs[0, k] = (obj['class'], np.array([[obj['class_ind']]]),
                      obj['mask'].astype(np.uint8), parr)
    return {'anno': {'imname': 'fake', 'objects': objs}}


def write_fake_pascal(root: str,
                      n_train: int = 3,
                      n_val: int = 2,
                      h: int = 24,
                      w: int = 32,
                      seed: int = 0) -> str:
    """Write a tiny ``PASCAL_MT`` tree (ids ``2008_00000{i}``).

    The first image of each split has a person with parts (head, torso);
    the others have no person (their human-parts maps are all ignored).
    ``LabelMap`` uses PASCAL-Context ids 18 (bed, normals valid), 284
    (person, valid) and 2 (aeroplane, not a NYU class: invalid normals).
    """
    from PIL import Image
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    dirs = {
        k: _makedirs(root, *k.split('/'))
        for k in ('JPEGImages', 'ImageSets/Context', 'semseg/pascal-context',
                  'human_parts', 'sal_distill', 'normals_distill',
                  'pascal-context/trainval')
    }
    counter = 0
    for split, n in (('train', n_train), ('val', n_val)):
        ids = []
        for i in range(n):
            image_id = f'2008_{counter:06d}'
            counter += 1
            ids.append(image_id)
            img = (rng.random((h, w, 3)) * 255).astype(np.uint8)
            Image.fromarray(img).save(
                osp.join(dirs['JPEGImages'], f'{image_id}.jpg'))
            seg = _rect_labels(rng, h, w, np.arange(1, 21)).astype(np.uint8)
            seg[0, :3] = 255
            Image.fromarray(seg).save(
                osp.join(dirs['semseg/pascal-context'], f'{image_id}.png'))
            label_map = _rect_labels(
                rng, h, w, np.array([18, 284, 2]), background=2)
            savemat(
                osp.join(dirs['pascal-context/trainval'], f'{image_id}.mat'),
                {'LabelMap': label_map.astype(np.uint16)})
            sal = np.where(label_map == 284, 230, 20).astype(np.uint8)
            Image.fromarray(sal).save(
                osp.join(dirs['sal_distill'], f'{image_id}.png'))
            normals = ((_unit_normals(rng, h, w) + 1) / 2 * 255).round()
            Image.fromarray(normals.astype(np.uint8)).save(
                osp.join(dirs['normals_distill'], f'{image_id}.png'))
            if i == 0:
                person = np.zeros((h, w), dtype=bool)
                person[h // 4:, w // 4:w // 2] = True
                head = np.zeros_like(person)
                head[h // 4:h // 2, w // 4:w // 2] = True
                torso = person & ~head
                objects = [
                    dict(class_ind=15, mask=person, parts=[('head', head),
                                                           ('torso', torso)],
                         **{'class': 'person'}),
                    dict(class_ind=7, mask=~person, parts=[],
                         **{'class': 'car'})
                ]
            else:
                objects = [
                    dict(class_ind=12, mask=np.ones((h, w), bool), parts=[],
                         **{'class': 'dog'})
                ]
            savemat(
                osp.join(dirs['human_parts'], f'{image_id}.mat'),
                _parts_struct(objects))
        with open(osp.join(dirs['ImageSets/Context'], f'{split}.txt'),
                  'w') as f:
            f.write('\n'.join(ids) + '\n')
    return root
