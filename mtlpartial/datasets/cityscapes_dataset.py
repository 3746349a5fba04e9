# Copyright (c) mtlpartial contributors. All rights reserved.
import logging
from typing import Dict, Mapping, Optional

from mmengine.logging import print_log

from mtlpartial.registry import DATASETS
from .mtan_npy_dataset import MTANNpyDataset

CITYSCAPES7_CLASSES = ('flat', 'construction', 'object', 'nature', 'sky',
                       'human', 'vehicle')
CITYSCAPES19_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence',
                        'pole', 'traffic light', 'traffic sign',
                        'vegetation', 'terrain', 'sky', 'person', 'rider',
                        'car', 'truck', 'bus', 'train', 'motorcycle',
                        'bicycle')


@DATASETS.register_module()
class CityscapesDataset(MTANNpyDataset):
    """Cityscapes in the MTAN pre-processed layout (MTPSL / JTR).

    ``root/{train,val}/{image,label_7,label_19,depth}/{i}.npy`` (2975 train,
    500 val), 128x256 (or 256x512):

    * ``label_7`` / ``label_19``: HxW class ids, -1 = ignore;
      ``num_classes`` (7 or 19) selects the folder;
    * ``depth``: HxWx1 **inverse depth** (disparity), 0 = invalid; the
      depth task should be ``DepthTask(inverse=True)`` so that
      RandomScaleCrop multiplies it by the zoom (the official loaders
      divide, a bug).

    Args:
        num_classes (int): 7 or 19. Defaults to 7.
        task_folders (dict, optional): overrides the task -> folder map.
        **kwargs: see :class:`MultiTaskDataset`.
    """

    DEFAULT_FOLDERS = dict(
        semseg=('label_7', 'semseg'), depth=('depth', 'depth'))

    def __init__(self,
                 num_classes: int = 7,
                 task_folders: Optional[Mapping[str, str]] = None,
                 **kwargs) -> None:
        if num_classes not in (7, 19):
            raise ValueError('CityscapesDataset: num_classes must be 7 or '
                             f'19, got {num_classes}')
        self.num_classes = num_classes
        if task_folders is None:
            task_folders = dict(semseg=f'label_{num_classes}', depth='depth')
        super().__init__(task_folders=task_folders, **kwargs)
        seg = self.task_specs.get('semseg')
        if seg is not None and seg.num_classes != num_classes:
            raise ValueError(
                f'CityscapesDataset: task "semseg" has num_classes='
                f'{seg.num_classes} but the dataset reads '
                f'{self.task_folders["semseg"]} (num_classes={num_classes})')
        depth = self.task_specs.get('depth')
        if depth is not None and not getattr(depth, 'inverse', False):
            print_log(
                'CityscapesDataset: the depth maps are inverse depth; '
                'DepthTask(inverse=True) is expected (scale augmentation '
                'multiplies inverse depth by the zoom)',
                logger='current',
                level=logging.WARNING)

    def default_tasks(self) -> Dict[str, dict]:
        return dict(
            semseg=dict(
                type='SemSegTask',
                num_classes=self.num_classes,
                class_names=(CITYSCAPES7_CLASSES if self.num_classes == 7
                             else CITYSCAPES19_CLASSES)),
            depth=dict(type='DepthTask', inverse=True))
