# Copyright (c) mtlpartial contributors. All rights reserved.
"""Shared loader of the MTAN pre-processed ``.npy`` layout.

``root/{split}/{folder}/{i}.npy`` with ``i = 0 .. N-1`` (the integer index is
the image id), one folder for the images (``image``, HxWx3 float in
``[0, 1]``) and one per task. Used by NYUv2 and Cityscapes (MTAN, MTPSL,
JTR, DGR all read this layout).
"""
import os
import os.path as osp
import re
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np

from .base_multitask_dataset import MultiTaskDataset

_INDEX_FILE = re.compile(r'^(\d+)\.npy$')


def load_npy(path: str) -> np.ndarray:
    """``np.load`` without pickles, with the file name in the error."""
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f'file not found: {path}') from None
    except (ValueError, OSError) as e:
        raise ValueError(f'{path}: cannot read .npy file ({e})') from e


class MTANNpyDataset(MultiTaskDataset):
    """Datasets in the MTAN ``.npy`` layout.

    Args:
        task_folders (dict, optional): ``{task name: folder}`` under
            ``root/{split}``; defaults to :attr:`DEFAULT_FOLDERS`. The
            supported task names are its keys.
        image_folder (str): folder of the images. Defaults to 'image'.
        **kwargs: see :class:`MultiTaskDataset`.
    """

    #: task name -> (folder, expected task kind)
    DEFAULT_FOLDERS: Dict[str, Tuple[str, str]] = {}

    def __init__(self,
                 task_folders: Optional[Mapping[str, str]] = None,
                 image_folder: str = 'image',
                 **kwargs) -> None:
        kinds = {n: k for n, (_, k) in self.DEFAULT_FOLDERS.items()}
        if task_folders is None:
            task_folders = {n: f for n, (f, _) in self.DEFAULT_FOLDERS.items()}
        self.task_folders = dict(task_folders)
        self._kinds = {n: kinds.get(n, '') for n in self.task_folders}
        self.image_folder = image_folder
        super().__init__(**kwargs)

    def supported_tasks(self) -> Dict[str, str]:
        return dict(self._kinds)

    def split_dir(self) -> str:
        return osp.join(self.data_root, self.split)

    def count_images(self) -> int:
        """Number of images: files ``{i}.npy`` in the image folder, which
        must be exactly ``0 .. N-1``."""
        folder = osp.join(self.split_dir(), self.image_folder)
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'{type(self).__name__}: image folder not found: {folder} '
                f'(expected {self.data_root}/{self.split}/'
                f'{self.image_folder}/<i>.npy)')
        idx = sorted(
            int(m.group(1))
            for m in map(_INDEX_FILE.match, os.listdir(folder)) if m)
        if not idx:
            raise FileNotFoundError(f'{folder}: no <i>.npy image found')
        if idx[-1] != len(idx) - 1:
            have = set(idx)
            gap = next(i for i in range(idx[-1] + 1) if i not in have)
            raise FileNotFoundError(
                f'file not found: {osp.join(folder, f"{gap}.npy")} (the '
                f'images must be numbered 0..N-1; found {len(idx)} files up '
                f'to {idx[-1]}.npy)')
        return len(idx)

    def load_image_list(self) -> List[dict]:
        root = self.split_dir()
        infos = []
        for i in range(self.count_images()):
            infos.append(
                dict(
                    image_id=i,
                    img_path=osp.join(root, self.image_folder, f'{i}.npy'),
                    gt_paths={
                        t: osp.join(root, self.task_folders[t], f'{i}.npy')
                        for t in self.task_names
                    }))
        return infos

    def load_image(self, info: dict) -> Tuple[np.ndarray, str]:
        return load_npy(info['img_path']), info['img_path']

    def load_gt(self, task: str, info: dict) -> Tuple[np.ndarray, str]:
        path = info['gt_paths'][task]
        return load_npy(path), path
