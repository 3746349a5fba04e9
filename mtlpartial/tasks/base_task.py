# Copyright (c) mtlpartial contributors. All rights reserved.
"""Task specs: the single place where the nature of a dense task lives.

Datasets (validation, augmentation), heads (output channels), losses,
metrics, regularizer encodings and visualization all ask the spec, so that
no component branches on task names. Adding a task is one spec class plus a
config entry.

Shape conventions: predictions and ground truth are batched ``(N, C, H, W)``
tensors. ``activate`` turns raw head outputs into the prediction that
everything downstream uses (segmentation/binary: logits, normals: unit
vectors). ``loss`` returns one value per sample: the mean over that
sample's valid pixels.
"""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


class BaseTask:
    """Base class of task specs.

    Args:
        name (str): the task name used in configs, data samples and loss
            keys (``loss_<name>``).
        loss_weight (float): weight of the task loss. Defaults to 1.0.
    """
    #: kind of task: 'semseg', 'depth', 'normal' or 'binary'.
    kind: str = ''
    #: ground-truth channels.
    gt_channels: int = 1
    #: interpolation used to resize ground truth ('nearest' or 'bilinear').
    gt_interp: str = 'nearest'
    #: name of the metric used in Δ% and whether higher is better.
    primary_metric: str = ''
    higher_is_better: bool = True

    def __init__(self, name: str, loss_weight: float = 1.0) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(
                f'task name must be a non-empty str, got {name!r}')
        self.name = name
        self.loss_weight = float(loss_weight)

    # ------------------------------------------------------------ outputs
    @property
    def num_outputs(self) -> int:
        """Channels of the head output."""
        raise NotImplementedError

    def activate(self, raw: Tensor) -> Tensor:
        """Turn a raw head output into this task's prediction."""
        return raw

    def to_prediction(self, pred: Tensor) -> Tensor:
        """Prediction stored in a data sample / fed to the metric."""
        return pred

    def resize_pred(self, pred: Tensor, size: Sequence[int],
                    align_corners: bool = False) -> Tensor:
        """Resize an activated prediction ``(N, C, h, w)`` to ``size``
        (inference restores the input's resolution this way, before
        :meth:`to_prediction`): bilinear, so logits are interpolated
        before the class decision."""
        return F.interpolate(pred.float(), size=tuple(size),
                             mode='bilinear', align_corners=align_corners)

    # --------------------------------------------------------- ground truth
    def valid_mask(self, gt: Tensor) -> Tensor:
        """``(N, 1, H, W)`` bool mask of pixels with a valid label."""
        raise NotImplementedError

    @property
    def pad_value(self) -> float:
        """Ground-truth value of padded pixels: one that ``valid_mask``
        rejects (0 for depth and normals; the ignore index of labels)."""
        return 0.0

    def validate_gt(self, gt: np.ndarray, where: str) -> np.ndarray:
        """Check a ground-truth array ``(H, W, C)`` or ``(H, W)``.

        Args:
            gt: the array as loaded.
            where: the file or key it came from (for the error message).

        Returns:
            np.ndarray: the array as ``(H, W, C)`` in the canonical dtype.

        Raises:
            ValueError: naming ``where`` and what was expected.
        """
        raise NotImplementedError

    def flip_gt(self, gt: np.ndarray) -> np.ndarray:
        """Horizontal flip of a ``(H, W, C)`` ground truth."""
        return gt[:, ::-1].copy()

    def rescale_gt(self, gt: np.ndarray, scale: float) -> np.ndarray:
        """Value change when the image is zoomed in by ``scale``."""
        return gt

    # ---------------------------------------------------------------- loss
    def loss(self, pred: Tensor, gt: Tensor) -> Tensor:
        """Per-sample loss ``(N,)``, the mean over each sample's valid
        pixels (0 for a sample without valid pixels)."""
        raise NotImplementedError

    # ----------------------------------------------------------- encodings
    @property
    def encoded_channels(self) -> int:
        """Channels of :meth:`encode_pred` / :meth:`encode_gt`."""
        return self.num_outputs

    def encode_pred(self, pred: Tensor, mode: str = 'soft',
                    **kwargs) -> Tensor:
        """Encode a prediction into ``[0, 1]`` channels for regularizers.

        Args:
            pred: activated prediction ``(N, C, H, W)``.
            mode: 'soft' (differentiable), 'gumbel' (straight-through hard
                Gumbel sample, segmentation only; others treat it as
                'soft') or 'hard' (no gradient).
        """
        raise NotImplementedError

    def encode_gt(self, gt: Tensor, **kwargs) -> Tensor:
        """Encode ground truth in the same space as :meth:`encode_pred`."""
        raise NotImplementedError

    def extra_repr(self) -> Dict:
        return {}

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v}' for k, v in self.extra_repr().items())
        sep = ', ' if args else ''
        return f'{type(self).__name__}(name={self.name!r}{sep}{args})'


class LabelTask(BaseTask):
    """Base of tasks whose ground truth holds labels (class ids, binary
    values) with an ``ignore_index`` marking pixels without a label.

    Args:
        name (str): the task name.
        ignore_index (int): label of ignored pixels (also the padding
            value).
        loss_weight (float): weight of the task loss. Defaults to 1.0.
    """

    def __init__(self, name: str, ignore_index: int = 255,
                 loss_weight: float = 1.0) -> None:
        super().__init__(name, loss_weight)
        self.ignore_index = int(ignore_index)

    def valid_mask(self, gt: Tensor) -> Tensor:
        return gt != self.ignore_index

    @property
    def pad_value(self) -> float:
        return float(self.ignore_index)


def masked_mean_per_sample(value: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``value`` over ``mask`` for each sample.

    Args:
        value: ``(N, 1|C, H, W)`` or ``(N, H, W)`` per-pixel values.
        mask: bool mask broadcastable to ``value``.

    Returns:
        Tensor: ``(N,)``; 0 where a sample has no valid pixel.
    """
    mask = mask.to(value.dtype)
    value = value * mask
    n = value.shape[0]
    total = value.reshape(n, -1).sum(1)
    count = mask.expand_as(value).reshape(n, -1).sum(1)
    return total / count.clamp(min=1)


def check_finite(gt: np.ndarray, where: str) -> None:
    if not np.all(np.isfinite(gt)):
        raise ValueError(f'{where}: ground truth contains NaN or Inf values')


def as_hwc(gt: np.ndarray, channels: int, where: str) -> np.ndarray:
    """Bring ``gt`` to ``(H, W, C)`` and check the channel count."""
    gt = np.asarray(gt)
    if gt.ndim == 2 and channels == 1:
        gt = gt[..., None]
    if gt.ndim != 3 or gt.shape[2] != channels:
        raise ValueError(
            f'{where}: expected ground truth of shape (H, W, {channels})'
            f'{" or (H, W)" if channels == 1 else ""}, got {gt.shape}')
    return gt


def optional_tensor(x: Optional[Tensor]) -> Optional[Tensor]:
    return None if x is None else torch.as_tensor(x)
