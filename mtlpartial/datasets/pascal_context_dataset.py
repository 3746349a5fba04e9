# Copyright (c) mtlpartial contributors. All rights reserved.
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from mtlpartial.registry import DATASETS
from .base_multitask_dataset import MultiTaskDataset
from .pascal_context_utils import (NORMALS_VALID_CLASSES,
                                   edges_from_label_map, human_parts_from_mat,
                                   normals_from_png)

PASCAL_SEMSEG_CLASSES = ('background', 'aeroplane', 'bicycle', 'bird',
                         'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
                         'cow', 'diningtable', 'dog', 'horse', 'motorbike',
                         'person', 'pottedplant', 'sheep', 'sofa', 'train',
                         'tvmonitor')
HUMAN_PART_CLASSES = ('background', 'head', 'torso', 'upper arm',
                      'lower arm', 'upper leg', 'lower leg')

#: source -> expected task kind
PASCAL_SOURCES = dict(
    semseg='semseg',
    human_parts='semseg',
    sal='binary',
    normals='normal',
    edge='binary')


def read_png(path: str) -> np.ndarray:
    """Read a PNG/JPEG keeping palette indices (PIL), naming the file on
    failure."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'file not found: {path}')
    try:
        with Image.open(path) as im:
            return np.array(im)
    except OSError as e:
        raise ValueError(f'{path}: cannot read image ({e})') from e


def read_mat(path: str) -> dict:
    """``scipy.io.loadmat`` naming the file on failure."""
    from scipy.io import loadmat
    if not osp.isfile(path):
        raise FileNotFoundError(f'file not found: {path}')
    try:
        return loadmat(path)
    except Exception as e:  # scipy raises several types on corrupt files
        raise ValueError(f'{path}: cannot read .mat file ({e})') from e


@DATASETS.register_module()
class PascalContextDataset(MultiTaskDataset):
    """PASCAL-Context multi-task benchmark (5 tasks) in Vandenhende's
    ``PASCAL_MT`` layout, as used by MTPSL::

        root/JPEGImages/{id}.jpg
        root/ImageSets/Context/{train,val}.txt          (4998 / 5105 ids)
        root/semseg/pascal-context/{id}.png             21 classes, 255 ignore
        root/semseg/VOC12/{id}.png                      (preferred if present)
        root/human_parts/{id}.mat                       PASCAL-Part objects
        root/sal_distill/{id}.png                       > 0.5 after / 255
        root/normals_distill/{id}.png                   2x/255-1, RGB
        root/pascal-context/trainval/{id}.mat           LabelMap

    Ground truth (mtlpartial conventions):

    * ``semseg``: 21 classes, 255 ignore. Like Vandenhende, the VOC12 map
      is used when ``semseg/VOC12/{id}.png`` exists.
    * ``human_parts``: 6 parts + background (7 classes); images without
      any person part are entirely ignored (Vandenhende's
      ``AddIgnoreRegions``).
    * ``sal``: binary {0, 1} of the distilled saliency.
    * ``normals``: distilled normals, zero vector (invalid) outside the
      classes shared with NYUv2 (``NORMALS_VALID_CLASSES``), re-normalised
      to unit length (simplification: not re-normalised upstream).
    * ``edge``: ``thin(|Laplacian(LabelMap)| > 0)``, {0, 1}.

    Simplification: Vandenhende resizes a ground truth whose size differs
    from the image's; here a size mismatch is an error (the released
    files agree), except for human parts of images without persons.

    Args:
        task_sources (dict, optional): ``{task name: source}`` with sources
            'semseg', 'human_parts', 'sal', 'normals', 'edge'. Defaults to
            the identity (task names = the MTPSL split-file keys).
        num_human_parts (int): 1, 4, 6 or 14. Defaults to 6.
        normals_valid_classes (Sequence[int], optional): PASCAL-Context
            class ids where normals are valid. Defaults to
            ``NORMALS_VALID_CLASSES``.
        **kwargs: see :class:`MultiTaskDataset`.
    """

    def __init__(self,
                 task_sources: Optional[Mapping[str, str]] = None,
                 num_human_parts: int = 6,
                 normals_valid_classes: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        if task_sources is None:
            task_sources = {s: s for s in PASCAL_SOURCES}
        bad = {t: s for t, s in task_sources.items()
               if s not in PASCAL_SOURCES}
        if bad:
            raise KeyError(f'PascalContextDataset: unknown source(s) {bad}; '
                           f'sources are {list(PASCAL_SOURCES)}')
        if num_human_parts not in (1, 4, 6, 14):
            raise ValueError('PascalContextDataset: num_human_parts must be '
                             f'1, 4, 6 or 14, got {num_human_parts}')
        self.task_sources = dict(task_sources)
        self.num_human_parts = num_human_parts
        self.normals_valid_classes = tuple(
            NORMALS_VALID_CLASSES if normals_valid_classes is None else
            normals_valid_classes)
        super().__init__(**kwargs)

    def default_tasks(self) -> Dict[str, dict]:
        specs = dict(
            semseg=dict(
                type='SemSegTask',
                num_classes=21,
                class_names=PASCAL_SEMSEG_CLASSES),
            human_parts=dict(
                type='SemSegTask',
                num_classes=self.num_human_parts + 1,
                class_names=(HUMAN_PART_CLASSES
                             if self.num_human_parts == 6 else None)),
            sal=dict(type='BinaryTask', metric='maxF'),
            normals=dict(type='NormalTask', loss='l1'),
            edge=dict(type='BinaryTask', pos_weight=0.95, metric='odsF'))
        return {t: specs[s] for t, s in self.task_sources.items()}

    def supported_tasks(self) -> Dict[str, str]:
        return {t: PASCAL_SOURCES[s] for t, s in self.task_sources.items()}

    # ------------------------------------------------------------ files
    def read_split(self) -> List[str]:
        path = osp.join(self.data_root, 'ImageSets', 'Context',
                        f'{self.split}.txt')
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'PascalContextDataset: split file not found: {path}')
        with open(path) as f:
            ids = [line.strip() for line in f if line.strip()]
        if not ids:
            raise ValueError(f'{path}: empty split file')
        return ids

    def source_path(self, source: str, image_id: str) -> str:
        root = self.data_root
        if source == 'semseg':
            voc = osp.join(root, 'semseg', 'VOC12', f'{image_id}.png')
            if osp.isfile(voc):
                return voc
            return osp.join(root, 'semseg', 'pascal-context',
                            f'{image_id}.png')
        if source == 'human_parts':
            return osp.join(root, 'human_parts', f'{image_id}.mat')
        if source == 'sal':
            return osp.join(root, 'sal_distill', f'{image_id}.png')
        if source == 'normals':
            return osp.join(root, 'normals_distill', f'{image_id}.png')
        return self.label_map_path(image_id)  # edge

    def label_map_path(self, image_id: str) -> str:
        return osp.join(self.data_root, 'pascal-context', 'trainval',
                        f'{image_id}.mat')

    def load_image_list(self) -> List[dict]:
        infos = []
        for image_id in self.read_split():
            infos.append(
                dict(
                    image_id=image_id,
                    img_path=osp.join(self.data_root, 'JPEGImages',
                                      f'{image_id}.jpg'),
                    gt_paths={
                        t: self.source_path(self.task_sources[t], image_id)
                        for t in self.task_names
                    }))
        return infos

    def load_data_list(self) -> List[dict]:
        infos = super().load_data_list()
        if self.check_files:
            # normals also read the LabelMap (valid classes)
            extra = []
            for info in infos:
                if any(self.task_sources[t] == 'normals'
                       for t in info['labelled_tasks']):
                    extra.append(self.label_map_path(info['image_id']))
            missing = [p for p in extra if not osp.isfile(p)]
            if missing:
                raise FileNotFoundError(
                    f'PascalContextDataset (split {self.split!r}): file not '
                    f'found: {missing[0]} (needed by the normals task)')
        return infos

    def load_image(self, info: dict) -> Tuple[np.ndarray, str]:
        img = read_png(info['img_path'])
        if img.ndim == 2:  # a few VOC JPEGs are grayscale
            img = np.repeat(img[..., None], 3, axis=2)
        return img, info['img_path']

    def load_gt(self, task: str, info: dict) -> Tuple[np.ndarray, str]:
        source = self.task_sources[task]
        path = info['gt_paths'][task]
        spec = self.task_specs[task]
        if source == 'semseg':
            return read_png(path), path
        if source == 'sal':
            sal = read_png(path)
            if sal.ndim == 3:
                sal = sal[..., 0]
            return (sal.astype(np.float32) / 255. > 0.5).astype(
                np.uint8), path
        if source == 'edge':
            label_map = self._label_map(path)
            return edges_from_label_map(label_map), path
        if source == 'normals':
            rgb = read_png(path)
            if rgb.ndim != 3 or rgb.shape[2] < 3:
                raise ValueError(f'{path}: expected an RGB normal map, got '
                                 f'shape {rgb.shape}')
            lm_path = self.label_map_path(info['image_id'])
            label_map = self._label_map(lm_path)
            if label_map.shape != rgb.shape[:2]:
                raise ValueError(
                    f'{lm_path}: LabelMap size {label_map.shape} does not '
                    f'match the normal map {path} ({rgb.shape[:2]})')
            return normals_from_png(rgb[..., :3], label_map,
                                    self.normals_valid_classes), path
        # human parts
        img_shape = self._image_shape(info['img_path'])
        parts = human_parts_from_mat(
            read_mat(path),
            img_shape,
            ignore_index=spec.ignore_index,
            num_parts=self.num_human_parts,
            where=path)
        return parts, path

    @staticmethod
    def _label_map(path: str) -> np.ndarray:
        mat = read_mat(path)
        if 'LabelMap' not in mat:
            raise ValueError(f'{path}: no "LabelMap" variable (keys '
                             f'{[k for k in mat if not k.startswith("__")]})')
        return np.asarray(mat['LabelMap'])

    @staticmethod
    def _image_shape(path: str) -> Tuple[int, int]:
        with Image.open(path) as im:
            w, h = im.size
        return h, w
