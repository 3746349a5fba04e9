# Copyright (c) mtlpartial contributors. All rights reserved.
"""Random multi-task batches, shared by the tests and by
``tools/analysis_tools/benchmark.py`` / ``get_flops.py``.

* :func:`fake_packed_batch`: what the dataloader yields (``inputs`` and
  :class:`MultiTaskDataSample` s holding ground truth of their labelled
  tasks only), to feed a model's data preprocessor.
* :func:`fake_multitask_batch`: what the preprocessor hands the model
  (:class:`MultiTaskBatch` with labelled-only targets), to build a
  regularizer context by hand.

Ground truth follows mtlpartial's conventions (``docs/design.md``):
class ids, depth in metres (> 0), unit normals, binary {0, 1}.
"""
from typing import Mapping, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mtlpartial.structures import (LabelledTarget, MultiTaskBatch,
                                   MultiTaskDataSample)
from mtlpartial.tasks import BaseTask, build_tasks
from mtlpartial.tasks.builder import TaskCfgs

#: per kind, the pixel ``(row, col)`` that ``invalid=True`` marks invalid
INVALID_PIXEL = dict(semseg=(0, 0), depth=(0, 1), normal=(1, 0),
                     binary=(1, 1))


def random_gt(task: BaseTask,
              num: int,
              size: Tuple[int, int],
              generator: Optional[torch.Generator] = None,
              invalid: bool = False) -> Tensor:
    """Random ground truth ``(num, C, H, W)`` of a task.

    Args:
        task: the spec (its ``kind``, ``num_classes`` and ``ignore_index``).
        num: number of maps.
        size: ``(H, W)``.
        generator: random generator (the global one if None).
        invalid: mark one pixel of every map invalid (the ignore index, a
            zero depth or a zero normal; see :data:`INVALID_PIXEL`).

    Raises:
        ValueError: for a task kind without random ground truth.
    """
    h, w = size
    g = generator
    if task.kind == 'semseg':
        gt = torch.randint(0, task.num_classes, (num, 1, h, w), generator=g)
    elif task.kind == 'depth':
        gt = torch.rand(num, 1, h, w, generator=g) * 5 + 0.5
    elif task.kind == 'normal':
        gt = F.normalize(torch.randn(num, 3, h, w, generator=g), dim=1)
    elif task.kind == 'binary':
        gt = (torch.rand(num, 1, h, w, generator=g) > 0.5).float()
    else:
        raise ValueError(f'task "{task.name}": no random ground truth for '
                         f'kind {task.kind!r}')
    if invalid:
        row, col = INVALID_PIXEL[task.kind]
        gt[:, :, row, col] = task.pad_value
    return gt


def label_pattern(task_names: Sequence[str], batch_size: int,
                  setting: str = 'onelabel') -> list:
    """Labelled tasks of each sample: ``'onelabel'`` (sample ``i`` is
    labelled for task ``i mod K``) or ``'full'``."""
    names = tuple(task_names)
    if setting == 'full':
        return [names] * batch_size
    if setting == 'onelabel':
        return [(names[i % len(names)], ) for i in range(batch_size)]
    raise ValueError(f"label pattern must be 'onelabel' or 'full', got "
                     f'{setting!r}')


def fake_packed_batch(tasks: TaskCfgs,
                      labelled: Sequence[Sequence[str]],
                      num_views: int = 1,
                      size: Tuple[int, int] = (32, 32),
                      generator: Optional[torch.Generator] = None,
                      view_boxes: Optional[Tensor] = None) -> dict:
    """A collated batch as the dataloader yields it.

    Args:
        tasks: task specs (e.g. ``model.tasks``) or their configs.
        labelled: per sample, the names of its labelled tasks.
        num_views: views per sample.
        size: ``(H, W)`` of images and ground truth.
        generator: random generator (the global one if None). Per sample,
            the image is drawn first, then the ground truth in ``labelled``
            order.
        view_boxes: ``(V, 4)`` normalised view boxes (default: the whole
            image for every view).

    Returns:
        dict: ``inputs`` (list of ``(V, 3, H, W)`` in [0, 1]) and
        ``data_samples`` (list of :class:`MultiTaskDataSample`).
    """
    specs = tasks if isinstance(tasks, Mapping) and all(
        isinstance(t, BaseTask) for t in tasks.values()) else \
        build_tasks(tasks)
    h, w = size
    if view_boxes is None:
        view_boxes = torch.tensor([[0., 0., 1., 1.]] * num_views)
    inputs, samples = [], []
    for i, names in enumerate(labelled):
        inputs.append(torch.rand(num_views, 3, h, w, generator=generator))
        sample = MultiTaskDataSample(metainfo=dict(
            tasks=tuple(specs), labelled_tasks=tuple(names), sample_idx=i,
            img_shape=(h, w), ori_shape=(h, w), view_boxes=view_boxes,
            view_flips=torch.zeros(num_views, dtype=torch.bool)))
        for name in names:
            sample.set_gt(name, random_gt(specs[name], num_views, size,
                                          generator))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def fake_multitask_batch(tasks: Mapping[str, BaseTask],
                         labelled: Tensor,
                         num_views: int,
                         size: Tuple[int, int],
                         generator: Optional[torch.Generator] = None,
                         boxes: Optional[Tensor] = None,
                         flips: Optional[Tensor] = None,
                         invalid: bool = True) -> MultiTaskBatch:
    """A preprocessed batch with ground truth **only** for the labelled
    (sample, task) pairs.

    Args:
        tasks: ordered task specs.
        labelled: ``(B, K)`` bool.
        num_views: views per sample.
        size: ``(H, W)`` of the ground truth.
        generator: random generator; per view, per task, the labelled
            samples' maps are drawn together.
        boxes: ``(B, V, 4)`` view boxes (default: the whole image).
        flips: ``(B, V)`` bool view flips (default: none).
        invalid: one invalid pixel per map (see :func:`random_gt`).
    """
    b = labelled.shape[0]
    names = tuple(tasks)
    if boxes is None:
        boxes = torch.tensor([[0., 0., 1., 1.]]).repeat(b, num_views, 1)
    if flips is None:
        flips = torch.zeros(b, num_views, dtype=torch.bool)
    samples = []
    for i in range(b):
        labs = tuple(t for k, t in enumerate(names) if labelled[i, k])
        samples.append(MultiTaskDataSample(metainfo=dict(
            tasks=names, labelled_tasks=labs, sample_idx=i,
            view_boxes=boxes[i], view_flips=flips[i])))
    targets = []
    for _ in range(num_views):
        view = {}
        for k, (name, task) in enumerate(tasks.items()):
            idx = torch.nonzero(labelled[:, k]).squeeze(1)
            if idx.numel():
                view[name] = LabelledTarget(
                    idx, random_gt(task, idx.numel(), size, generator,
                                   invalid))
        targets.append(view)
    return MultiTaskBatch(samples, names, labelled, targets)
