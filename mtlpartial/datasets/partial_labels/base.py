# Copyright (c) mtlpartial contributors. All rights reserved.
"""Base class of label-dropping settings and the checks every mask passes."""
from typing import Optional, Sequence

import numpy as np


def check_task_names(task_names: Sequence[str], owner: str) -> tuple:
    """Check that ``task_names`` is a non-empty sequence of unique strings.

    Args:
        task_names (Sequence[str]): the dataset's task order.
        owner (str): who checks (used in error messages).

    Returns:
        tuple: ``task_names`` as a tuple.
    """
    if isinstance(task_names, str):
        raise TypeError(f'{owner}: task_names must be a sequence of task '
                        f'names, got the string {task_names!r}')
    names = tuple(task_names)
    if len(names) == 0:
        raise ValueError(f'{owner}: task_names is empty')
    bad = [t for t in names if not isinstance(t, str)]
    if bad:
        raise TypeError(f'{owner}: task names must be strings, got {bad}')
    dup = sorted({t for t in names if names.count(t) > 1})
    if dup:
        raise ValueError(f'{owner}: duplicate task names {dup} in {names}')
    return names


def check_label_mask(mask: np.ndarray,
                     task_names: Sequence[str],
                     num_images: int,
                     owner: str,
                     image_ids: Optional[Sequence[str]] = None) -> np.ndarray:
    """Validate a label mask and return it as a C-contiguous bool array.

    Args:
        mask (np.ndarray): ``(N, K)`` mask, bool or 0/1 numbers.
        task_names (Sequence[str]): the ``K`` task names, ordered.
        num_images (int): the expected ``N``.
        owner (str): the setting (or file) that produced the mask; named in
            error messages.
        image_ids (Sequence[str], optional): image ids, named in the error
            about an image without labels.

    Returns:
        np.ndarray: the ``(N, K)`` bool mask.

    Raises:
        ValueError: wrong shape, values other than 0/1, or an image without
            any labelled task.
    """
    mask = np.asarray(mask)
    num_tasks = len(task_names)
    if mask.ndim != 2 or mask.shape != (num_images, num_tasks):
        raise ValueError(
            f'{owner}: the label mask has shape {tuple(mask.shape)}, '
            f'expected ({num_images}, {num_tasks}) = (images, tasks '
            f'{tuple(task_names)})')
    if mask.dtype != np.bool_:
        if not np.isin(mask, (0, 1)).all():
            vals = np.unique(mask)[:8].tolist()
            raise ValueError(f'{owner}: the label mask must hold only 0/1 '
                             f'(or bool) values, got values {vals}')
        mask = mask.astype(bool)
    empty = np.flatnonzero(~mask.any(1))
    if empty.size:
        first = int(empty[0])
        name = f'image {first}'
        if image_ids is not None:
            name += f' (id {image_ids[first]!r})'
        raise ValueError(
            f'{owner}: {name} has no labelled task ({empty.size} image(s) '
            f'without labels, first indices {empty[:5].tolist()}); every '
            'image must be labelled for at least one task')
    return np.ascontiguousarray(mask)


class BasePartialLabels:
    """Base class of a label-dropping setting.

    A setting turns (task names, number of images, optional image ids) into a
    bool ``(N, K)`` mask, ``mask[i, k]`` = image ``i`` is labelled for task
    ``k``. The mask must be a pure function of the setting's arguments (its
    seed): never draw from a global RNG, so that every rank and every
    resumed run sees the same labels. Subclasses implement
    :meth:`_make_mask`; :meth:`make_mask` checks the inputs and the result
    (shape, 0/1 values, at least one label per image).

    Settings that do not derive from this class can still be registered in
    ``PARTIAL_LABELS``: they only need a ``make_mask`` method with the same
    signature (run their output through :func:`check_label_mask`).
    """

    def make_mask(self,
                  task_names: Sequence[str],
                  num_images: int,
                  image_ids: Optional[Sequence[str]] = None) -> np.ndarray:
        """Build the label mask.

        Args:
            task_names (Sequence[str]): the dataset's task order.
            num_images (int): number of images ``N``.
            image_ids (Sequence[str], optional): ids of the ``N`` images
                (needed by id-based settings such as PASCAL files).

        Returns:
            np.ndarray: bool ``(N, K)``.
        """
        owner = repr(self)
        names = check_task_names(task_names, owner)
        if isinstance(num_images, bool) or not isinstance(
                num_images, (int, np.integer)) or num_images < 1:
            raise ValueError(f'{owner}: num_images must be a positive '
                             f'integer, got {num_images!r}')
        num_images = int(num_images)
        if image_ids is not None:
            image_ids = [str(i) for i in image_ids]
            if len(image_ids) != num_images:
                raise ValueError(
                    f'{owner}: got {len(image_ids)} image ids for '
                    f'{num_images} images')
        mask = self._make_mask(names, num_images, image_ids)
        return check_label_mask(mask, names, num_images, owner, image_ids)

    __call__ = make_mask

    def _make_mask(self, task_names: tuple, num_images: int,
                   image_ids: Optional[list]) -> np.ndarray:
        raise NotImplementedError

    def _args(self) -> dict:
        """Constructor arguments shown by ``repr``."""
        return {}

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in self._args().items())
        return f'{type(self).__name__}({args})'
