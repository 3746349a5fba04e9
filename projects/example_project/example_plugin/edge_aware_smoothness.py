# Copyright (c) mtlpartial contributors. All rights reserved.
"""Edge-aware smoothness of the predicted depth of depth-unlabelled images.

Godard et al., "Unsupervised Monocular Depth Estimation with Left-Right
Consistency", CVPR 2017, Eq. (3), with the mean normalisation of
monodepth2 (Godard et al., ICCV 2019). Without a depth label an image
still constrains its depth map: depth should be piecewise smooth, with
discontinuities where the image has edges.
"""
from typing import Dict, Mapping, Optional

import torch
import torch.nn as nn
from torch import Tensor

from mtlpartial.models.regularizers import (BaseRegularizer,
                                            RegularizerContext)
from mtlpartial.registry import MODELS
from mtlpartial.tasks import BaseTask


def edge_aware_smoothness(depth: Tensor,
                          image: Tensor,
                          edge_weight: float = 1.0,
                          min_depth: float = 1e-3,
                          disparity: bool = False) -> Tensor:
    """Per-sample edge-aware smoothness of a depth map.

    ``|∂x d*| e^{-α|∂x I|} + |∂y d*| e^{-α|∂y I|}`` averaged over the pixels
    of each sample, where ``d* = d / mean(d)`` is the depth (or disparity
    ``1/d`` with ``disparity=True``) divided by its per-image mean, so the
    term does not depend on the scale of the scene and cannot be lowered
    by shrinking all depths, and ``|∂I|`` is the absolute image gradient
    averaged over the colour channels.

    Args:
        depth (Tensor): ``(N, 1, H, W)`` predicted depth; values are clamped
            to ``min_depth`` first (the depth head is linear and may output
            negative values, whose mean could be zero).
        image (Tensor): ``(N, 3, H, W)`` images in ``[0, 1]``.
        edge_weight (float): ``α``. Defaults to 1 (Godard et al.).
        min_depth (float): lower clamp of the depth. Defaults to 1e-3.
        disparity (bool): smooth ``1/d`` instead of ``d`` (monodepth
            smooths the disparity, i.e. penalises far-away texture less).

    Returns:
        Tensor: ``(N,)`` float32 smoothness of each sample.

    Raises:
        ValueError: if the shapes do not match.

    Examples:
        >>> d = torch.ones(2, 1, 8, 8)
        >>> edge_aware_smoothness(d, torch.rand(2, 3, 8, 8))
        tensor([0., 0.])
    """
    if depth.dim() != 4 or depth.shape[1] != 1:
        raise ValueError('edge_aware_smoothness: depth must be (N, 1, H, W),'
                         f' got {tuple(depth.shape)}')
    if image.dim() != 4 or image.shape[0] != depth.shape[0] or \
            image.shape[-2:] != depth.shape[-2:]:
        raise ValueError('edge_aware_smoothness: image must be (N, C, H, W) '
                         f'with the batch and size of depth '
                         f'{tuple(depth.shape)}, got {tuple(image.shape)}')
    if min(depth.shape[-2:]) < 2:
        raise ValueError('edge_aware_smoothness: maps must be at least 2x2, '
                         f'got {tuple(depth.shape[-2:])}')
    d = depth.float().clamp(min=min_depth)
    if disparity:
        d = 1.0 / d
    d = d / d.mean(dim=(2, 3), keepdim=True)
    img = image.float()
    grad_d_x = (d[..., :, 1:] - d[..., :, :-1]).abs()
    grad_d_y = (d[..., 1:, :] - d[..., :-1, :]).abs()
    grad_i_x = (img[..., :, 1:] - img[..., :, :-1]).abs().mean(1, True)
    grad_i_y = (img[..., 1:, :] - img[..., :-1, :]).abs().mean(1, True)
    smooth_x = grad_d_x * torch.exp(-edge_weight * grad_i_x)
    smooth_y = grad_d_y * torch.exp(-edge_weight * grad_i_y)
    return smooth_x.flatten(1).mean(1) + smooth_y.flatten(1).mean(1)


@MODELS.register_module()
class EdgeAwareSmoothness(BaseRegularizer):
    """Edge-aware depth smoothness on the images whose depth is unlabelled.

    ``loss_smooth = loss_weight · 1/B Σ_{n: depth unlabelled} S(d̂_n, I_n)``
    with ``S`` from :func:`edge_aware_smoothness` (Godard et al. 2017) and
    the global-batch mean ``ctx.sample_mean``. Labelled images get their
    supervision from the depth loss and are left out
    (``only_unlabelled=True``), so the term is a self-supervised signal for
    exactly the (image, depth) pairs that the partial-label setting drops.

    The images come from the regularizer context (``ctx.images[0]``, view
    0, in the packed ``[0, 1]`` scale: the data preprocessor's
    normalisation is undone by the model), so the edge weights do not
    depend on the normalisation. The plugin uses the public interface only:
    ``setup(tasks, heads)`` checks the task, ``forward(ctx)`` computes the
    term.

    Args:
        task (str): name of the depth task. Defaults to 'depth'.
        only_unlabelled (bool): regularise only images without a depth
            label. Defaults to True.
        edge_weight (float): ``α`` of ``e^{-α|∂I|}``. Defaults to 1.
        disparity (bool): smooth the disparity ``1/d`` (monodepth) instead
            of the depth. Defaults to False.
        min_depth (float): clamp of the predicted depth. Defaults to 1e-3.
        name (str, optional): loss key prefix. Defaults to 'smooth'.
        loss_weight (float): Defaults to 1e-3 (monodepth).
        init_cfg (dict, optional): mmengine init config.
    """
    default_name = 'smooth'
    num_views = 1

    def __init__(self,
                 task: str = 'depth',
                 only_unlabelled: bool = True,
                 edge_weight: float = 1.0,
                 disparity: bool = False,
                 min_depth: float = 1e-3,
                 name: Optional[str] = None,
                 loss_weight: float = 1e-3,
                 init_cfg=None,
                 **kwargs) -> None:
        super().__init__(
            name=name, loss_weight=loss_weight, init_cfg=init_cfg,
            **kwargs)
        if min_depth <= 0:
            raise ValueError(f'{type(self).__name__}: min_depth must be > 0, '
                             f'got {min_depth}')
        self.task = task
        self.only_unlabelled = bool(only_unlabelled)
        self.edge_weight = float(edge_weight)
        self.disparity = bool(disparity)
        self.min_depth = float(min_depth)

    def build(self, tasks: Mapping[str, BaseTask],
              heads: Mapping[str, nn.Module]) -> None:
        """Check that the regularised task is a depth task of the model."""
        if self.task not in tasks:
            raise KeyError(f'{type(self).__name__}: task "{self.task}" is not '
                           f'a task of the model ({list(tasks)})')
        kind = getattr(tasks[self.task], 'kind', '')
        if kind != 'depth':
            raise ValueError(f'{type(self).__name__}: task "{self.task}" must '
                             f'be a depth task, got kind {kind!r}')

    @staticmethod
    def images(ctx: RegularizerContext, pred: Tensor) -> Tensor:
        """View-0 images of the step, ``(B, 3, H, W)`` in ``[0, 1]``.

        Raises:
            RuntimeError: if the context carries no images (a context built
                by hand) or they do not match the predictions.
        """
        if not ctx.images:
            raise RuntimeError(
                'EdgeAwareSmoothness: no input images in the regularizer '
                'context (MultiTaskModel fills RegularizerContext.images)')
        images = ctx.images[0]
        if images.dim() != 4 or images.shape[0] != pred.shape[0] or \
                tuple(images.shape[-2:]) != tuple(pred.shape[-2:]):
            raise RuntimeError(
                f'EdgeAwareSmoothness: images of shape '
                f'{tuple(images.shape)} do not match the predictions '
                f'{tuple(pred.shape)}')
        return images

    def forward(self, ctx: RegularizerContext) -> Dict[str, Tensor]:
        pred = ctx.preds[0][self.task]
        batch_size = pred.shape[0]
        if self.only_unlabelled:
            rows = ~ctx.batch.task_mask(self.task).to(pred.device)
        else:
            rows = torch.ones(batch_size, dtype=torch.bool,
                              device=pred.device)
        images = self.images(ctx, pred)
        if not bool(rows.any()):
            # no image to regularise in this (local) batch: a zero without
            # graph, like the model's loss of a task without labels
            return {'loss_smooth': pred.new_zeros((), dtype=torch.float32)}
        idx = rows.nonzero(as_tuple=True)[0]
        per_sample = edge_aware_smoothness(
            pred[idx], images[idx].to(pred.device), self.edge_weight,
            self.min_depth, self.disparity)
        values = per_sample.new_zeros(batch_size).index_add(0, idx,
                                                            per_sample)
        return {'loss_smooth': self.loss_weight * ctx.sample_mean(values)}
