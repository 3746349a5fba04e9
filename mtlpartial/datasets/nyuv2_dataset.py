# Copyright (c) mtlpartial contributors. All rights reserved.
from typing import Dict

from mtlpartial.registry import DATASETS
from .mtan_npy_dataset import MTANNpyDataset

NYU_CLASSES = ('bed', 'books', 'ceiling', 'chair', 'floor', 'furniture',
               'objects', 'picture', 'sofa', 'table', 'tv', 'wall',
               'window')


@DATASETS.register_module()
class NYUv2Dataset(MTANNpyDataset):
    """NYUv2 in the MTAN pre-processed layout (13 classes, 288x384).

    ``root/{train,val}/{image,label,depth,normal}/{i}.npy`` (795 train,
    654 val = the standard test split):

    * ``image``: HxWx3 float in ``[0, 1]``;
    * ``label``: HxW class ids 0..12, -1 = ignore (becomes the task's
      ``ignore_index``);
    * ``depth``: HxWx1 metres, 0 = invalid;
    * ``normal``: HxWx3 unit normals, zero vector = invalid.

    Default tasks: ``semseg`` (13 classes), ``depth``, ``normal``. The
    task -> folder mapping is configurable with ``task_folders``.

    Examples:
        >>> ds = NYUv2Dataset(data_root='data/nyuv2', split='train',
        ...                   partial_labels=dict(type='OneLabel', seed=0))
    """

    DEFAULT_FOLDERS = dict(
        semseg=('label', 'semseg'),
        depth=('depth', 'depth'),
        normal=('normal', 'normal'))

    def default_tasks(self) -> Dict[str, dict]:
        return dict(
            semseg=dict(
                type='SemSegTask', num_classes=13, class_names=NYU_CLASSES),
            # official JTR CDF statistics of NYUv2 depth
            depth=dict(type='DepthTask', stats=(2.3618, 1.5876)),
            normal=dict(type='NormalTask'))
