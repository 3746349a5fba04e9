# Copyright (c) mtlpartial contributors. All rights reserved.
"""Statistics of a label mask (used by ``tools/misc/partial_labels.py``)."""
from typing import Optional, Sequence

import numpy as np


def mask_summary(mask: np.ndarray,
                 task_names: Optional[Sequence[str]] = None) -> dict:
    """Counts of a bool ``(N, K)`` label mask.

    Args:
        mask (np.ndarray): bool or 0/1 ``(N, K)``.
        task_names (Sequence[str], optional): column names; defaults to
            ``task0, task1, ...``.

    Returns:
        dict: ``num_images``, ``num_tasks``, ``task_names``,
        ``per_task`` ``{task: #images labelled}``, ``labels_per_image``
        ``{n: #images with n labels}`` (n = 0..K), ``patterns``
        ``{'101': #images}`` (column order, sorted) and ``label_fraction``
        (labelled pairs / N·K).
    """
    mask = np.asarray(mask).astype(bool)
    if mask.ndim != 2:
        raise ValueError(f'expected a (N, K) mask, got shape {mask.shape}')
    num_images, num_tasks = mask.shape
    names = list(task_names) if task_names is not None else [
        f'task{k}' for k in range(num_tasks)
    ]
    if len(names) != num_tasks:
        raise ValueError(f'{len(names)} task names for {num_tasks} columns')
    per_image = np.bincount(mask.sum(1), minlength=num_tasks + 1)
    codes = mask.astype(np.int64) @ (1 << np.arange(num_tasks)[::-1])
    uniq, counts = np.unique(codes, return_counts=True)
    patterns = {
        format(int(c), f'0{num_tasks}b'): int(n)
        for c, n in zip(uniq, counts)
    }
    return dict(
        num_images=int(num_images),
        num_tasks=int(num_tasks),
        task_names=names,
        per_task={t: int(n) for t, n in zip(names, mask.sum(0))},
        labels_per_image={n: int(c) for n, c in enumerate(per_image)},
        patterns=patterns,
        label_fraction=float(mask.mean()) if mask.size else 0.0)


def format_summary(summary: dict, title: str = '') -> str:
    """Human-readable text of :func:`mask_summary`'s result."""
    lines = []
    if title:
        lines.append(title)
    lines.append(f'images: {summary["num_images"]}')
    lines.append(f'tasks: {summary["num_tasks"]} '
                 f'({", ".join(summary["task_names"])})')
    lines.append('labelled images per task:')
    for task, n in summary['per_task'].items():
        lines.append(f'  {task}: {n}')
    lines.append('images by number of labelled tasks:')
    for n, c in summary['labels_per_image'].items():
        lines.append(f'  {n}: {c}')
    lines.append(f'patterns ({" ".join(summary["task_names"])}):')
    for p, c in summary['patterns'].items():
        lines.append(f'  {p}: {c}')
    lines.append(f'label fraction: {summary["label_fraction"]:.4f}')
    return '\n'.join(lines)
