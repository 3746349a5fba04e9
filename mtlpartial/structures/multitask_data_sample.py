# Copyright (c) mtlpartial contributors. All rights reserved.
"""Data structures of one multi-task sample and of a preprocessed batch.

Conventions (settled for the whole toolkit):

* ``MultiTaskDataSample.gt_<task>``: ground truth of a **labelled** task as a
  tensor of shape ``(V, C, H, W)`` where ``V`` is the number of augmented
  views (``V == 1`` without :class:`MultiView`). A task that is not labelled
  for this image has **no** ``gt_<task>`` field at all: its label is never
  loaded, so it cannot leak into a loss or a metric.
* metainfo ``tasks`` (all task names of the dataset, ordered) and
  ``labelled_tasks`` (the subset labelled for this image, ordered).
* ``pred_<task>``: the model's prediction for view 0, shape ``(C, H, W)``
  (class map for segmentation, value map for regression, probability for
  binary tasks), written in ``predict`` mode.
"""
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.structures import BaseDataElement
from torch import Tensor


class MultiTaskDataSample(BaseDataElement):
    """A data sample with per-task ground truth and its label mask.

    Examples:
        >>> import torch
        >>> s = MultiTaskDataSample(metainfo=dict(
        ...     tasks=('semseg', 'depth'), labelled_tasks=('depth', )))
        >>> s.set_gt('depth', torch.rand(1, 1, 4, 4))
        >>> s.is_labelled('semseg'), s.is_labelled('depth')
        (False, True)
    """

    # ``tasks`` and ``labelled_tasks`` are metainfo fields, readable as
    # attributes (``sample.labelled_tasks``); these helpers default to ().
    def get_tasks(self) -> Tuple[str, ...]:
        """All task names of the dataset, ordered."""
        return tuple(self.metainfo.get('tasks', ()))

    def get_labelled_tasks(self) -> Tuple[str, ...]:
        """Task names labelled for this image, ordered."""
        return tuple(self.metainfo.get('labelled_tasks', ()))

    def is_labelled(self, task: str) -> bool:
        """Whether ``task`` is labelled for this image."""
        return task in self.get_labelled_tasks()

    def set_gt(self, task: str, value: Tensor) -> None:
        """Set the ground truth of a labelled task (``(V, C, H, W)``)."""
        if not self.is_labelled(task):
            raise KeyError(f'task "{task}" is not labelled for this sample '
                           f'(labelled: {self.get_labelled_tasks()}); its '
                           'ground '
                           'truth must not be stored')
        if value.dim() != 4:
            raise ValueError(f'gt_{task} must have shape (V, C, H, W), got '
                             f'{tuple(value.shape)}')
        self.set_field(value, f'gt_{task}', dtype=Tensor)

    def get_gt(self, task: str) -> Tensor:
        """Ground truth of ``task`` (``(V, C, H, W)``); KeyError if absent."""
        key = f'gt_{task}'
        if key not in self:
            raise KeyError(f'sample has no ground truth for task "{task}" '
                           f'(labelled: {self.get_labelled_tasks()})')
        return getattr(self, key)

    def set_pred(self, task: str, value: Tensor) -> None:
        """Set the view-0 prediction of ``task`` (``(C, H, W)``)."""
        self.set_field(value, f'pred_{task}', dtype=Tensor)

    def get_pred(self, task: str) -> Tensor:
        return getattr(self, f'pred_{task}')


@dataclass
class LabelledTarget:
    """Ground truth of one task for the labelled samples of a batch only.

    Attributes:
        index (Tensor): ``(n,)`` int64 positions in the batch of the samples
            labelled for this task (sorted).
        data (Tensor): ``(n, C, H, W)`` their ground truth.
    """
    index: Tensor
    data: Tensor

    @property
    def count(self) -> int:
        return int(self.index.numel())


class MultiTaskBatch(Sequence):
    """A preprocessed batch: the samples plus batched, labelled-only targets.

    It behaves like the list of samples (``len``, indexing, iteration) so
    that ``predict`` and evaluators can treat it as ``data_samples``.

    Args:
        samples (list[MultiTaskDataSample]): the samples of the batch.
        task_names (Sequence[str]): the model's task order.
        labelled (Tensor): ``(B, K)`` bool, ``labelled[b, k]`` is True iff
            sample ``b`` is labelled for task ``k``.
        targets (list[dict[str, LabelledTarget]]): per view, per task.
    """

    def __init__(self, samples: List[MultiTaskDataSample],
                 task_names: Sequence[str], labelled: Tensor,
                 targets: List[Dict[str, LabelledTarget]]) -> None:
        self.samples = list(samples)
        self.task_names = tuple(task_names)
        self.labelled = labelled
        self.targets = targets

    @property
    def num_views(self) -> int:
        return len(self.targets)

    @property
    def batch_size(self) -> int:
        return len(self.samples)

    def target(self, task: str, view: int = 0) -> Optional[LabelledTarget]:
        """Targets of ``task`` in ``view``; None if no sample is labelled."""
        return self.targets[view].get(task)

    def valid_region(self) -> Optional[Tensor]:
        """``(1, 1, H, W)`` bool mask of the image pixels when the data
        preprocessor padded the batch (``size_divisor``), else None.

        Padded pixels carry no image, and their ground truth is invalid;
        regularizers that compare predictions of whole images mask them.
        """
        if not self.samples:
            return None
        meta = self.samples[0].metainfo
        if 'pad_shape' not in meta or 'img_shape' not in meta:
            return None
        (h, w), (ph, pw) = meta['img_shape'][:2], meta['pad_shape'][:2]
        if (h, w) == (ph, pw):
            return None
        region = torch.zeros(1, 1, ph, pw, dtype=torch.bool,
                             device=self.labelled.device)
        region[..., :h, :w] = True
        return region

    def task_mask(self, task: str) -> Tensor:
        """``(B,)`` bool: which samples are labelled for ``task``."""
        return self.labelled[:, self.task_names.index(task)]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, idx):
        return self.samples[idx]

    def __iter__(self) -> Iterator[MultiTaskDataSample]:
        return iter(self.samples)

    def to(self, device) -> 'MultiTaskBatch':
        self.labelled = self.labelled.to(device)
        self.targets = [{
            k: LabelledTarget(v.index.to(device), v.data.to(device))
            for k, v in view.items()
        } for view in self.targets]
        return self


def build_labelled_matrix(samples: Sequence[MultiTaskDataSample],
                          task_names: Sequence[str]) -> Tensor:
    """``(B, K)`` bool label mask of ``samples`` in ``task_names`` order."""
    rows = [[s.is_labelled(t) for t in task_names] for s in samples]
    return torch.tensor(rows, dtype=torch.bool).reshape(len(samples),
                                                        len(task_names))
