# Copyright (c) mtlpartial contributors. All rights reserved.
"""Base class and helpers of the accumulating meters.

A meter never stores prediction maps. It reduces every batch to *sufficient
statistics* (counts and sums) whose element-wise sum over batches, or over
ranks, is the statistic of the union. Hence ``update`` over two batches
equals ``update`` over their concatenation, and ``merge`` of per-rank
states equals one meter that saw everything.

Conventions:

* ``sample_stats(pred, gt)`` returns a dict of tensors with a leading
  sample dimension ``N`` (computed with batched ops on the input's device);
  ``update`` sums it over ``N`` into :attr:`state` (CPU, int64 counts and
  float64 sums).
* ``compute()`` returns a dict of python floats; NaN where a metric is
  undefined (e.g. no valid pixel at all).
"""
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

StateDict = Dict[str, Tensor]


class BaseMeter:
    """Accumulates per-sample sufficient statistics of one dense task.

    Subclasses define :meth:`empty_state`, :meth:`sample_stats`,
    :meth:`compute` and the class attribute :attr:`higher_is_better`
    (``{metric name: bool}`` for every key that :meth:`compute` returns).
    """

    #: ``{metric: True if higher is better}`` for every computed metric.
    higher_is_better: Dict[str, bool] = {}

    def __init__(self) -> None:
        self.state: StateDict = {}
        self.reset()

    # ---------------------------------------------------------------- state
    def empty_state(self) -> StateDict:
        """Zero statistics (CPU tensors)."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget everything accumulated so far."""
        self.state = self.empty_state()

    def state_dict(self) -> StateDict:
        """A copy of the accumulated statistics (CPU tensors)."""
        return {k: v.clone() for k, v in self.state.items()}

    def merge(self, other: Union['BaseMeter', Mapping[str, Tensor]]
              ) -> 'BaseMeter':
        """Add the statistics of another meter (or a state dict) in place.

        This is how per-rank (or per-sample) states are combined.

        Raises:
            KeyError: if the keys differ from this meter's state.
            ValueError: if a statistic has a different shape.
        """
        state = other.state if isinstance(other, BaseMeter) else other
        if set(state) != set(self.state):
            raise KeyError(
                f'{type(self).__name__}.merge: state keys {sorted(state)} do '
                f'not match {sorted(self.state)}')
        for key, value in state.items():
            value = torch.as_tensor(value).detach().cpu()
            if value.shape != self.state[key].shape:
                raise ValueError(
                    f'{type(self).__name__}.merge: statistic "{key}" has '
                    f'shape {tuple(value.shape)}, expected '
                    f'{tuple(self.state[key].shape)} (meters built with '
                    'different settings?)')
            self.state[key] += value.to(self.state[key].dtype)
        return self

    # --------------------------------------------------------------- update
    def sample_stats(self, pred: Tensor, gt: Tensor) -> StateDict:
        """Per-sample statistics, each with leading dimension ``N``."""
        raise NotImplementedError

    @torch.no_grad()
    def update(self, pred: Tensor, gt: Tensor) -> None:
        """Accumulate a batch ``pred`` / ``gt`` of shape ``(N, C, H, W)``."""
        stats = self.sample_stats(pred, gt)
        self.merge({k: v.sum(0) for k, v in stats.items()})

    def compute(self) -> Dict[str, float]:
        """Metrics of everything accumulated so far."""
        raise NotImplementedError

    # ------------------------------------------------- shared by subclasses
    def float_pair(self, pred: Tensor, gt: Tensor, pred_channels: int,
                   gt_channels: int) -> Tuple[Tensor, Tensor]:
        """Checked ``pred`` / ``gt`` (see :func:`check_pair`) as float32,
        ``gt`` on the prediction's device."""
        check_pair(pred, gt, pred_channels, gt_channels, type(self).__name__)
        return pred.float(), gt.to(pred.device).float()

    def nan_metrics(self) -> Dict[str, float]:
        """NaN for every metric (nothing valid was accumulated)."""
        return {k: float('nan') for k in self.higher_is_better}


class PixelPooledMeter(BaseMeter):
    """Base of the meters whose metrics pool sums over every valid pixel of
    the evaluation set: the state counts them (``count``); with none, every
    metric is NaN. Subclasses define :meth:`pooled_metrics`."""

    def compute(self) -> Dict[str, float]:
        count = int(self.state['count'])
        if count == 0:
            return self.nan_metrics()
        return self.pooled_metrics(self.state, count)

    def pooled_metrics(self, state: StateDict,
                       count: int) -> Dict[str, float]:
        """Metrics from the accumulated ``state`` and ``count`` > 0 valid
        pixels."""
        raise NotImplementedError


class BinaryMapMeter(BaseMeter):
    """Base of the meters of a probability map against binary ground truth
    (0, 1, ``ignore_index``) at several thresholds.

    Args:
        thresholds (Sequence[float], optional): in [0, 1]; None takes the
            subclass's ``default_thresholds``.
        ignore_index (int): ground truth of ignored pixels.
    """

    #: thresholds used when none are given
    default_thresholds: Sequence[float] = ()

    def __init__(self,
                 thresholds: Optional[Sequence[float]] = None,
                 ignore_index: int = 255) -> None:
        self.thresholds = as_thresholds(
            self.default_thresholds if thresholds is None else thresholds,
            type(self).__name__)
        self.ignore_index = int(ignore_index)
        super().__init__()

    def binary_inputs(self, pred: Tensor,
                      gt: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Checked inputs: the float32 prediction and the ``valid`` (not
        ignored) and ``pos`` (valid and 1) masks of the ground truth.

        Raises:
            ValueError: naming the meter, for shapes, a prediction outside
                [0, 1] or ground-truth values other than 0, 1, ignore.
        """
        name = type(self).__name__
        check_pair(pred, gt, 1, 1, name)
        check_probability(pred, name)
        gt = gt.to(pred.device)
        check_binary_gt(gt, self.ignore_index, name)
        valid = gt != self.ignore_index
        return pred.float(), valid, (gt == 1) & valid


# ------------------------------------------------------------------ helpers
def check_pair(pred: Tensor, gt: Tensor, pred_channels: int,
               gt_channels: int, name: str) -> None:
    """Check that ``pred`` / ``gt`` are ``(N, C, H, W)`` batches that match.

    Raises:
        TypeError: if an input is not a tensor.
        ValueError: naming the meter and the shapes.
    """
    for what, x in (('prediction', pred), ('ground truth', gt)):
        if not isinstance(x, Tensor):
            raise TypeError(f'{name}: {what} must be a torch.Tensor, got '
                            f'{type(x).__name__}')
    if pred.dim() != 4 or pred.shape[1] != pred_channels:
        raise ValueError(f'{name}: prediction must have shape (N, '
                         f'{pred_channels}, H, W), got {tuple(pred.shape)}')
    if gt.dim() != 4 or gt.shape[1] != gt_channels:
        raise ValueError(f'{name}: ground truth must have shape (N, '
                         f'{gt_channels}, H, W), got {tuple(gt.shape)}')
    if pred.shape[0] != gt.shape[0] or pred.shape[2:] != gt.shape[2:]:
        raise ValueError(f'{name}: prediction {tuple(pred.shape)} and ground '
                         f'truth {tuple(gt.shape)} differ in batch size or '
                         'spatial size')
    if pred.is_floating_point() and not bool(torch.isfinite(pred).all()):
        raise ValueError(f'{name}: prediction contains NaN or Inf values')


def check_binary_gt(gt: Tensor, ignore_index: int, name: str) -> None:
    """Raise ``ValueError`` unless ``gt`` holds only 0, 1 and the ignore."""
    bad = (gt != 0) & (gt != 1) & (gt != ignore_index)
    if bool(bad.any()):
        raise ValueError(f'{name}: ground truth must be 0, 1 or '
                         f'{ignore_index} (ignore), got values '
                         f'{torch.unique(gt[bad])[:10].tolist()}')


def check_probability(pred: Tensor, name: str) -> None:
    """Raise ``ValueError`` unless ``pred`` is a probability map."""
    if not pred.is_floating_point() or bool(
            (pred < 0).any() | (pred > 1).any()):
        raise ValueError(f'{name}: predictions must be probabilities in '
                         '[0, 1] (apply sigmoid to the logits), got dtype '
                         f'{pred.dtype}, range [{float(pred.min()):.4g}, '
                         f'{float(pred.max()):.4g}]')


def bincount(index: Tensor, minlength: int) -> Tensor:
    """``torch.bincount`` that also works under deterministic CUDA mode
    (the CUDA kernel refuses it; counting on the CPU is exact)."""
    if index.is_cuda and torch.are_deterministic_algorithms_enabled():
        index = index.cpu()
    return torch.bincount(index, minlength=minlength)


def per_sample_histogram(index: Tensor, mask: Tensor,
                         num_bins: int) -> Tensor:
    """Count ``index`` values per sample over ``mask``.

    Args:
        index: ``(N, ...)`` int64 bin indices in ``[0, num_bins)``.
        mask: bool, same shape: which entries to count.
        num_bins: number of bins.

    Returns:
        Tensor: ``(N, num_bins)`` int64 counts.
    """
    n = index.shape[0]
    offset = torch.arange(n, device=index.device).view(
        -1, *([1] * (index.dim() - 1))) * num_bins
    # masked entries go to one extra bin (cheaper than boolean indexing)
    flat = torch.where(mask, index + offset, n * num_bins)
    return bincount(flat.flatten(), n * num_bins + 1)[:-1].view(n, num_bins)


def counts_at_least(hist: Tensor) -> Tensor:
    """From ``(N, T + 1)`` bucket counts of ``bucketize(x, thr, right=True)``
    (bucket ``k`` = number of thresholds ``<= x``) to ``(N, T)`` counts of
    ``x >= thr[j]`` (buckets ``k >= j + 1``)."""
    at_least = hist.flip(-1).cumsum(-1).flip(-1)
    return at_least[..., 1:]


def safe_div(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` with 0 where ``den == 0``."""
    num, den = torch.as_tensor(num), torch.as_tensor(den)
    out = num.double() / torch.where(den == 0, torch.ones_like(den),
                                     den).double()
    return torch.where(den == 0, torch.zeros_like(out), out)


def as_thresholds(values: Sequence[float], name: str, low: float = 0.0,
                  high: float = 1.0) -> Tensor:
    """Sorted, unique float64 thresholds inside ``[low, high]``."""
    thr = torch.as_tensor(list(values), dtype=torch.float64).flatten()
    if thr.numel() == 0:
        raise ValueError(f'{name}: thresholds must not be empty')
    if not bool(((thr >= low) & (thr <= high)).all()):
        raise ValueError(f'{name}: thresholds must lie in [{low}, {high}], '
                         f'got {thr.tolist()}')
    return torch.unique(thr)
