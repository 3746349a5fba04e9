# Copyright (c) mtlpartial contributors. All rights reserved.
"""Stack views, normalise images, and batch labelled-only targets."""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from mtlpartial.registry import MODELS
from mtlpartial.structures import (LabelledTarget, MultiTaskBatch,
                                   MultiTaskDataSample, build_labelled_matrix)


@MODELS.register_module()
class MultiTaskDataPreprocessor(BaseDataPreprocessor):
    """Data preprocessor of :class:`MultiTaskModel`.

    * ``inputs``: a list of ``(V, 3, H, W)`` tensors becomes one
      ``(V * B, 3, H, W)`` tensor in **view-major** order (all view-0 images
      first), normalised by ``(x - mean) / std``.
    * ``data_samples``: a :class:`MultiTaskBatch` with the ``(B, K)`` label
      mask and, per view and task, the ground truth of the labelled samples
      only (:class:`LabelledTarget`).

    Args:
        mean (Sequence[float], optional): per-channel mean, in the scale of
            the packed images (mtlpartial images are float in [0, 1]).
            None: no normalisation (MTPSL/JTR feed [0, 1] images).
        std (Sequence[float], optional): per-channel std.
        task_names (Sequence[str], optional): task order; set by the model.
        channels_last (bool): return inputs in channels-last memory format
            (faster convolutions on recent GPUs). Defaults to False.
        non_blocking (bool): asynchronous host-to-device copies.
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None,
                 task_names: Optional[Sequence[str]] = None,
                 channels_last: bool = False,
                 non_blocking: bool = True) -> None:
        super().__init__(non_blocking=non_blocking)
        if (mean is None) != (std is None):
            raise ValueError('data_preprocessor: give both mean and std, or '
                             'neither')
        self._normalize = mean is not None
        if self._normalize:
            self.register_buffer('mean',
                                 torch.tensor(mean).view(-1, 1, 1), False)
            self.register_buffer('std', torch.tensor(std).view(-1, 1, 1),
                                 False)
        self.task_names = tuple(task_names) if task_names else None
        self.channels_last = channels_last

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = data['inputs']
        samples = data.get('data_samples')
        if isinstance(inputs, torch.Tensor):  # already stacked (B, V, ...)
            inputs = list(inputs)
        if not inputs:
            raise ValueError('data_preprocessor: empty batch')
        views = {x.shape[0] if x.dim() == 4 else 1 for x in inputs}
        if len(views) != 1:
            raise ValueError('data_preprocessor: samples of a batch have '
                             f'different numbers of views {sorted(views)}')
        stacked = torch.stack(
            [x if x.dim() == 4 else x[None] for x in inputs], dim=1)
        v, b = stacked.shape[:2]
        x = stacked.reshape(v * b, *stacked.shape[2:])
        x = x.to(self.device, non_blocking=self._non_blocking).float()
        if self._normalize:
            x = (x - self.mean) / self.std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        batch = None
        if samples is not None:
            batch = self.batch_targets(samples, v)
        return dict(inputs=x, data_samples=batch)

    def batch_targets(self, samples: List[MultiTaskDataSample],
                      num_views: int) -> MultiTaskBatch:
        """Build the :class:`MultiTaskBatch` of ``samples``."""
        if isinstance(samples, MultiTaskBatch):
            return samples
        task_names = self.task_names or samples[0].get_tasks()
        labelled = build_labelled_matrix(samples, task_names)
        targets: List[Dict[str, LabelledTarget]] = [
            dict() for _ in range(num_views)
        ]
        for k, task in enumerate(task_names):
            index = labelled[:, k].nonzero(as_tuple=True)[0]
            if index.numel() == 0:
                continue
            gts = [samples[i].get_gt(task) for i in index.tolist()]
            shapes = {tuple(g.shape) for g in gts}
            if len(shapes) != 1:
                raise ValueError(f'gt_{task}: samples of a batch have '
                                 f'different shapes {sorted(shapes)}')
            if gts[0].shape[0] < num_views:
                raise ValueError(
                    f'gt_{task} has {gts[0].shape[0]} views but the inputs '
                    f'have {num_views}')
            data = torch.stack(gts).to(
                self.device, non_blocking=self._non_blocking)
            index = index.to(self.device, non_blocking=self._non_blocking)
            for view in range(num_views):
                targets[view][task] = LabelledTarget(index, data[:, view])
        return MultiTaskBatch(samples, task_names,
                              labelled.to(self.device), targets)
