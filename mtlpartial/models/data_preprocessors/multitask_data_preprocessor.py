# Copyright (c) mtlpartial contributors. All rights reserved.
"""Stack views, normalise images, pad, and batch labelled-only targets."""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
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
    * ``size_divisor`` (as mmseg's ``SegDataPreProcessor``): images are
      padded at the bottom and right to a multiple of it (with ``pad_val``
      after normalisation), ground truth with its task's ``pad_value``
      (ignore index, or 0 for depth and normals: invalid, so padding never
      enters a loss), and every sample's metainfo gets ``img_shape`` (the
      unpadded size) and ``pad_shape``; :class:`MultiTaskModel` crops its
      predictions back to ``img_shape``, so padding never enters a metric.

    Args:
        mean (Sequence[float], optional): per-channel mean, in the scale of
            the packed images (mtlpartial images are float in [0, 1]).
            None: no normalisation (MTPSL/JTR feed [0, 1] images).
        std (Sequence[float], optional): per-channel std.
        task_names (Sequence[str], optional): task order; set by the model.
        channels_last (bool): return inputs in channels-last memory format
            (faster convolutions on recent GPUs). Defaults to False.
        non_blocking (bool): asynchronous host-to-device copies.
        size_divisor (int, optional): pad inputs and ground truth to a
            multiple of it (e.g. 32 for MTAN SegNet's five 2x poolings).
            Defaults to None (no padding).
        pad_val (float): value of padded image pixels (after
            normalisation). Defaults to 0.
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None,
                 task_names: Optional[Sequence[str]] = None,
                 channels_last: bool = False,
                 non_blocking: bool = True,
                 size_divisor: Optional[int] = None,
                 pad_val: float = 0.0) -> None:
        super().__init__(non_blocking=non_blocking)
        if size_divisor is not None and int(size_divisor) < 1:
            raise ValueError('data_preprocessor.size_divisor must be a '
                             f'positive int or None, got {size_divisor!r}')
        self.size_divisor = int(size_divisor) if size_divisor else None
        self.pad_val = float(pad_val)
        self.pad_values: Dict[str, float] = {}
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

    def denormalize(self, inputs: torch.Tensor) -> torch.Tensor:
        """Images in the scale of the packed inputs from preprocessed ones
        (``x * std + mean``; unchanged without normalisation), detached.

        Args:
            inputs (Tensor): ``(N, 3, H, W)`` rows of the preprocessed
                ``inputs``.
        """
        inputs = inputs.detach()
        if not self._normalize:
            return inputs
        return inputs * self.std.to(inputs) + self.mean.to(inputs)

    def set_tasks(self, tasks: Mapping) -> None:
        """Task order and ground-truth pad values, from the model's task
        specs (called once when the model is built)."""
        self.task_names = tuple(tasks)
        self.pad_values = {
            name: float(spec.pad_value)
            for name, spec in tasks.items()
        }

    def padding(self, height: int, width: int) -> Tuple[int, int]:
        """Rows and columns to add at the bottom and right."""
        d = self.size_divisor
        if d is None:
            return 0, 0
        return (-height) % d, (-width) % d

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
        height, width = x.shape[-2:]
        pad_h, pad_w = self.padding(height, width)
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), value=self.pad_val)
        if samples is not None and self.size_divisor is not None:
            for sample in samples:
                sample.set_metainfo(
                    dict(img_shape=(height, width),
                         pad_shape=(height + pad_h, width + pad_w)))
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
            pad_h, pad_w = self.padding(*data.shape[-2:])
            if pad_h or pad_w:
                if task not in self.pad_values:
                    raise KeyError(
                        f'data_preprocessor: no pad value for task "{task}" '
                        '(size_divisor needs the task specs; MultiTaskModel '
                        'sets them with set_tasks)')
                data = F.pad(data, (0, pad_w, 0, pad_h),
                             value=self.pad_values[task])
            index = index.to(self.device, non_blocking=self._non_blocking)
            for view in range(num_views):
                targets[view][task] = LabelledTarget(index, data[:, view])
        return MultiTaskBatch(samples, task_names,
                              labelled.to(self.device), targets)
