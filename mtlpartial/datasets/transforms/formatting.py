# Copyright (c) mtlpartial contributors. All rights reserved.
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mtlpartial.registry import TRANSFORMS
from mtlpartial.structures import MultiTaskDataSample


@TRANSFORMS.register_module()
class PackMultiTaskInputs(BaseTransform):
    """Pack a sample into ``dict(inputs, data_samples)``.

    * ``inputs``: ``(V, 3, H, W)`` float32 tensor (V = 1 without
      :class:`MultiView`).
    * ``data_samples``: a :class:`MultiTaskDataSample` with ``gt_<task>``
      ``(V, C, H, W)`` for the **labelled** tasks only (segmentation int64,
      others float32) and metainfo ``tasks``, ``labelled_tasks``,
      ``view_boxes`` ``(V, 4)`` float32 tensor, ``view_flips`` ``(V,)``
      bool tensor and ``meta_keys``.

    Raises:
        KeyError: if the results hold ground truth of an unlabelled task
            (it must never be loaded).

    Args:
        meta_keys (Sequence[str]): keys copied into the metainfo when
            present. Defaults to sample_idx, image_id, img_path, ori_shape,
            img_shape, flip.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = ('sample_idx', 'image_id',
                                             'img_path', 'ori_shape',
                                             'img_shape', 'flip')) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        img = np.asarray(results['img'])
        if img.ndim == 3:
            img = img[None]
        if img.ndim != 4 or img.shape[-1] != 3:
            raise ValueError('PackMultiTaskInputs: expected an image (H, W, '
                             f'3) or views (V, H, W, 3), got {img.shape}')
        num_views = img.shape[0]
        inputs = torch.from_numpy(
            np.ascontiguousarray(img.transpose(0, 3, 1, 2),
                                 dtype=np.float32))
        tasks = tuple(results['tasks'])
        labelled = tuple(results['labelled_tasks'])
        gt_maps = results.get('gt_maps', {})
        leaked = [t for t in gt_maps if t not in labelled]
        if leaked:
            raise KeyError(f'PackMultiTaskInputs: sample '
                           f'{results.get("image_id")!r} holds ground truth '
                           f'of unlabelled task(s) {leaked} (labelled: '
                           f'{list(labelled)})')
        boxes = results.get('view_boxes')
        if boxes is None:
            boxes = np.tile(np.array([[0., 0., 1., 1.]]), (num_views, 1))
        flips = results.get('view_flips')
        if flips is None:
            flips = np.zeros(num_views, dtype=bool)
        metainfo = dict(
            tasks=tasks,
            labelled_tasks=labelled,
            view_boxes=torch.as_tensor(
                np.asarray(boxes, dtype=np.float32)).reshape(num_views, 4),
            view_flips=torch.as_tensor(np.asarray(flips, dtype=bool)))
        for key in self.meta_keys:
            if key in results:
                metainfo[key] = results[key]
        sample = MultiTaskDataSample(metainfo=metainfo)
        specs = results.get('task_specs', {})
        for task in labelled:
            if task not in gt_maps:
                raise KeyError(
                    f'PackMultiTaskInputs: task "{task}" is labelled but '
                    'has no ground truth in the results of sample '
                    f'{results.get("image_id")!r}')
            gt = np.asarray(gt_maps[task])
            if gt.ndim == 3:
                gt = gt[None]
            if gt.ndim != 4 or gt.shape[0] != num_views:
                raise ValueError(
                    f'PackMultiTaskInputs: gt of task "{task}" has shape '
                    f'{gt.shape}, expected ({num_views}, H, W, C)')
            spec = specs.get(task)
            is_seg = (spec.kind == 'semseg') if spec is not None else (
                gt.dtype.kind in 'iu')
            dtype = np.int64 if is_seg else np.float32
            sample.set_gt(
                task,
                torch.from_numpy(
                    np.ascontiguousarray(gt.transpose(0, 3, 1, 2),
                                         dtype=dtype)))
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
