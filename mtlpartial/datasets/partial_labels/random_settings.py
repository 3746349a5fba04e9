# Copyright (c) mtlpartial contributors. All rights reserved.
"""Label-dropping settings generated from a seed.

All settings draw from ``np.random.default_rng(seed)`` created inside
``make_mask``: the mask is a pure function of (seed, number of images,
number of tasks), identical on every rank and after a resume.
"""
from typing import Dict

import numpy as np

from mtlpartial.registry import PARTIAL_LABELS
from .base import BasePartialLabels


def _check_seed(seed, owner: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or seed < 0:
        raise ValueError(f'{owner}: seed must be a non-negative integer, '
                         f'got {seed!r}')
    return int(seed)


def random_subsets(rng: np.random.Generator, sizes: np.ndarray,
                   num_tasks: int) -> np.ndarray:
    """Per row ``i`` a uniformly random subset of ``sizes[i]`` tasks.

    Args:
        rng (np.random.Generator): the generator.
        sizes (np.ndarray): ``(N,)`` subset sizes in ``0..num_tasks``.
        num_tasks (int): ``K``.

    Returns:
        np.ndarray: bool ``(N, K)``.
    """
    keys = rng.random((len(sizes), num_tasks))
    ranks = keys.argsort(axis=1).argsort(axis=1)
    return ranks < np.asarray(sizes)[:, None]


def largest_remainder(shares: np.ndarray, total: int) -> np.ndarray:
    """Integer counts proportional to ``shares`` that sum to ``total``.

    Hamilton's method: floors first, the remaining units go to the largest
    fractional parts (ties: lower index first).
    """
    shares = np.asarray(shares, dtype=np.float64)
    if shares.sum() <= 0:
        return np.zeros(len(shares), dtype=np.int64)
    exact = shares / shares.sum() * total
    counts = np.floor(exact + 1e-9).astype(np.int64)
    rest = int(total - counts.sum())
    if rest > 0:
        order = np.argsort(-(exact - counts), kind='stable')
        counts[order[:rest]] += 1
    return counts


class SeededPartialLabels(BasePartialLabels):
    """A setting drawn from ``np.random.default_rng(seed)``.

    Args:
        seed (int): a non-negative integer. Defaults to 0.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = _check_seed(seed, type(self).__name__)

    def _args(self) -> dict:
        return dict(seed=self.seed)


@PARTIAL_LABELS.register_module()
class Full(BasePartialLabels):
    """Every image is labelled for every task (fully supervised)."""

    def _make_mask(self, task_names, num_images, image_ids):
        return np.ones((num_images, len(task_names)), dtype=bool)


@PARTIAL_LABELS.register_module()
class OneLabel(SeededPartialLabels):
    """Exactly one labelled task per image, exactly balanced across tasks.

    Task counts differ by at most one (the tasks that receive the ``N mod K``
    extra images are drawn at random) and the assignment of tasks to images
    is a random permutation, like the official MTPSL NYUv2 file (265/265/265)
    and Cityscapes file (1487/1488).

    Args:
        seed (int): Defaults to 0.
    """

    def _make_mask(self, task_names, num_images, image_ids):
        num_tasks = len(task_names)
        rng = np.random.default_rng(self.seed)
        task_of = rng.permutation(num_tasks)[np.arange(num_images) %
                                             num_tasks]
        task_of = rng.permutation(task_of)
        mask = np.zeros((num_images, num_tasks), dtype=bool)
        mask[np.arange(num_images), task_of] = True
        return mask


@PARTIAL_LABELS.register_module()
class RandomLabels(SeededPartialLabels):
    """A random number of labelled tasks per image, from 1 to K-1.

    Per image ``n ~ U{1, ..., K-1}``, then a uniformly random subset of
    ``n`` tasks. This matches the statistics of the official MTPSL NYUv2
    ``randomlabels`` file (405 images with 1 label, 390 with 2, none with 0
    or 3). With ``K == 2`` the rule leaves exactly one task per image, i.e.
    ``randomlabels`` degenerates to ``onelabel`` (which is why MTPSL has only
    a Cityscapes onelabel file): the mask is then the :class:`OneLabel` mask
    of the same seed (exactly balanced). ``K == 1`` is an error.

    Args:
        seed (int): Defaults to 0.
    """

    def _make_mask(self, task_names, num_images, image_ids):
        num_tasks = len(task_names)
        if num_tasks < 2:
            raise ValueError(
                f'{self!r}: randomlabels labels 1..K-1 tasks per image and '
                f'needs at least 2 tasks, got {tuple(task_names)}')
        if num_tasks == 2:
            return OneLabel(self.seed)._make_mask(task_names, num_images,
                                                  image_ids)
        rng = np.random.default_rng(self.seed)
        sizes = rng.integers(1, num_tasks, size=num_images)
        return random_subsets(rng, sizes, num_tasks)


@PARTIAL_LABELS.register_module()
class HalfLabels(SeededPartialLabels):
    """Half of the (image, task) labels, at least one per image.

    JTR names this setting (Taskonomy) without releasing a rule; the rule
    here: with ``K`` even every image is labelled for exactly ``K/2`` tasks;
    with ``K`` odd, ``floor(N/2)`` images chosen at random get ``ceil(K/2)``
    tasks and the others ``floor(K/2)``, so that 50% of all labels are kept
    (up to one label when ``N`` is odd). The tasks of an image are a
    uniformly random subset. ``K == 1`` keeps the single task (full).
    ``K == 2`` gives one random task per image (not exactly balanced; use
    :class:`OneLabel` for that); ``K == 3`` gives half of the images one
    label and half two.

    Args:
        seed (int): Defaults to 0.
    """

    def _make_mask(self, task_names, num_images, image_ids):
        num_tasks = len(task_names)
        if num_tasks == 1:
            return np.ones((num_images, 1), dtype=bool)
        rng = np.random.default_rng(self.seed)
        sizes = np.full(num_images, num_tasks // 2, dtype=np.int64)
        if num_tasks % 2:
            sizes[rng.permutation(num_images)[:num_images // 2]] += 1
        return random_subsets(rng, sizes, num_tasks)


@PARTIAL_LABELS.register_module()
class Ratio(SeededPartialLabels):
    """Per-task label fractions, e.g. MTPSL's Cityscapes ``Seg.:Depth = 9:1``.

    MTPSL (CVPR'22, "Learning from partial and imbalanced task labels"):
    "we randomly sample 90% of images to be labeled for semantic segmentation
    and only 10% images having labels for depth". Rule used here:

    1. task ``t`` is labelled on exactly ``c_t`` images, ``c_t ≈ r_t · N``
       (largest-remainder rounding of the ``r_t · N`` so that the counts
       sum to ``round(Σ r_t · N)``);
    2. every image must have a label, so ``Σ c_t ≥ N`` is required (the
       ratios must sum to at least 1; otherwise a ValueError);
    3. a random permutation of the images is split into consecutive blocks
       of ``p_t`` images, one block per task (``p_t`` proportional to
       ``c_t``, ``p_t ≤ c_t``, ``Σ p_t = N``): each image gets one task;
    4. each task ``t`` then labels ``c_t - p_t`` more images drawn uniformly
       from those not yet labelled for it.

    When the ratios sum to 1 (``semseg=0.9, depth=0.1``), step 4 adds
    nothing: every image has exactly one label (90% segmentation-only, 10%
    depth-only), which is how we read the paper's ``9:1`` setting (a 2-task
    onelabel split with imbalanced shares). A ratio may be 0 (the task is
    never labelled).

    Args:
        ratios (dict[str, float]): fraction in [0, 1] for **every** task.
        seed (int): Defaults to 0.
    """

    def __init__(self, ratios: Dict[str, float], seed: int = 0) -> None:
        owner = type(self).__name__
        if not isinstance(ratios, dict) or not ratios:
            raise TypeError(f'{owner}: ratios must be a non-empty dict '
                            f'{{task: fraction}}, got {ratios!r}')
        for task, r in ratios.items():
            if isinstance(r, bool) or not isinstance(
                    r, (int, float, np.floating, np.integer)) or not (0 <= r
                                                                      <= 1):
                raise ValueError(f'{owner}: ratio of task "{task}" must be a '
                                 f'fraction in [0, 1], got {r!r}')
        self.ratios = {str(k): float(v) for k, v in ratios.items()}
        super().__init__(seed)

    def _args(self) -> dict:
        return dict(ratios=self.ratios, **super()._args())

    def _make_mask(self, task_names, num_images, image_ids):
        unknown = [t for t in self.ratios if t not in task_names]
        missing = [t for t in task_names if t not in self.ratios]
        if unknown or missing:
            raise ValueError(
                f'{self!r}: ratios must name exactly the dataset tasks '
                f'{tuple(task_names)}; unknown {unknown}, missing {missing}')
        r = np.array([self.ratios[t] for t in task_names])
        total = int(round(r.sum() * num_images))
        counts = np.minimum(largest_remainder(r, total), num_images)
        if counts.sum() < num_images:
            raise ValueError(
                f'{self!r}: the ratios label {int(counts.sum())} (image, '
                f'task) pairs for {num_images} images; every image needs at '
                'least one label, so the ratios must sum to at least 1')
        # proportional to counts with sum(counts) >= N, hence <= counts
        primary = largest_remainder(counts, num_images)
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(num_images)
        mask = np.zeros((num_images, len(task_names)), dtype=bool)
        mask[order, np.repeat(np.arange(len(task_names)), primary)] = True
        for k in np.flatnonzero(counts > primary):
            free = np.flatnonzero(~mask[:, k])
            extra = rng.choice(free, int(counts[k] - primary[k]),
                               replace=False)
            mask[extra, k] = True
        return mask
