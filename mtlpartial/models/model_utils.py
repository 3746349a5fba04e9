# Copyright (c) mtlpartial contributors. All rights reserved.
"""Helpers of ``MultiTaskModel``: building its heads and regularizers,
derived seeds, the crop of padded predictions, the runner's progress
(mmengine's message hub), the NaN guard and the cross-rank log sums of the
training step."""
import copy
import hashlib
from typing import Dict, Mapping, Optional, Sequence

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub
from mmengine.model import ModuleDict, ModuleList
from torch import Tensor

from mtlpartial.registry import MODELS
from mtlpartial.tasks import BaseTask
from .regularizers import BaseRegularizer


def build_heads(heads: dict, tasks: Mapping[str, BaseTask]) -> ModuleDict:
    """One head per task, in task order, ``out_channels`` from the spec.

    Args:
        heads: one head config (with ``type``) shared by all tasks, or
            ``{task: head config}``.
        tasks: the ordered task specs.

    Raises:
        TypeError / KeyError: naming the bad or missing task.
    """
    if not isinstance(heads, dict):
        raise TypeError('model.heads must be a dict: one head config with'
                        ' "type" (shared by all tasks) or {task: head '
                        f'config}}, got {type(heads).__name__} {heads!r}')
    per_task = heads if 'type' not in heads else {t: heads for t in tasks}
    unknown = set(per_task) - set(tasks)
    if unknown:
        raise KeyError(f'model.heads: unknown tasks {sorted(unknown)}; '
                       f'tasks are {list(tasks)}')
    # mmengine containers: init_weights reaches every head's init_cfg
    built = ModuleDict()
    for name, task in tasks.items():
        if name not in per_task:
            raise KeyError(f'model.heads: no head for task "{name}"')
        cfg = copy.deepcopy(dict(per_task[name]))
        cfg['out_channels'] = task.num_outputs
        built[name] = MODELS.build(cfg)
    return built


def build_regularizers(cfgs: Sequence[dict], tasks: Mapping[str, BaseTask],
                       heads: ModuleDict) -> ModuleList:
    """Build the regularizers and set them up for ``tasks`` and ``heads``.

    Paired seeds: building the regularizers' networks must not move the
    global random stream, so that the shared network's initialisation
    (``init_weights``, later) is the same with and without regularizers;
    they draw from streams derived from the initial seed instead.

    Raises:
        TypeError: if a config does not build a ``BaseRegularizer``.
        ValueError: if two regularizers have the same name.
    """
    regularizers = ModuleList()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derived_seed(torch.initial_seed(), 'regularizers'))
        for cfg in cfgs:
            reg = MODELS.build(cfg)
            if not isinstance(reg, BaseRegularizer):
                raise TypeError(f'model.regularizers: {type(reg).__name__} '
                                'is not a BaseRegularizer')
            regularizers.append(reg)
    names = [r.name for r in regularizers]
    if len(set(names)) != len(names):
        raise ValueError(f'model.regularizers: duplicate names {names}; '
                         'give each a distinct `name`')
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derived_seed(torch.initial_seed(), 'setup'))
        for reg in regularizers:
            reg.setup(tasks, heads)
    return regularizers


def derived_seed(seed: int, tag: str) -> int:
    """A seed derived from ``seed`` and ``tag`` (stable across runs)."""
    digest = hashlib.sha256(f'{int(seed)}:{tag}'.encode()).digest()
    return int.from_bytes(digest[:8], 'little') % (2**63)


def crop_to_image(preds: Dict[str, Tensor],
                  metainfo: dict) -> Dict[str, Tensor]:
    """Crop predictions of a padded batch (``size_divisor``) back to the
    image size ``metainfo['img_shape']`` (padding is bottom/right)."""
    if 'pad_shape' not in metainfo or 'img_shape' not in metainfo:
        return preds
    h, w = metainfo['img_shape'][:2]
    return {t: p[..., :h, :w] for t, p in preds.items()}


def runner_iter(default: int) -> int:
    """The runner's training iteration, else ``default`` (outside a
    runner)."""
    hub = MessageHub.get_current_instance()
    it = hub.get_info('iter') if hub is not None else None
    return int(it) if it is not None else int(default)


def runner_iters_per_epoch() -> Optional[float]:
    """Iterations per epoch of an epoch-based train loop, None otherwise."""
    hub = MessageHub.get_current_instance()
    if hub is None:
        return None
    max_iters = hub.get_info('max_iters')
    max_epochs = hub.get_info('max_epochs')
    if not max_iters or not max_epochs or int(max_epochs) <= 1:
        return None
    return float(max_iters) / float(max_epochs)


def check_finite_losses(losses: Mapping[str, Tensor], iteration: int) -> None:
    """Stop with a clear message if any loss is NaN/Inf (on any rank).

    Raises:
        FloatingPointError: naming the non-finite losses.
    """
    keys = [k for k, v in losses.items()
            if 'loss' in k and isinstance(v, Tensor)]
    if not keys:
        return
    values = [losses[k].detach().float().reshape(-1).sum() for k in keys]
    flags = (~torch.isfinite(torch.stack(values))).float()
    all_reduce(flags, op='sum')
    if bool(flags.any()):
        bad = [k for k, f in zip(keys, flags.tolist()) if f]
        raise FloatingPointError(
            f'Non-finite loss at iteration {iteration} of the run: {bad}. '
            'The run stops before the parameter update, so the checkpoints '
            'written so far are intact; resume from the last one with '
            'a lower learning rate (--resume --cfg-options '
            'optim_wrapper.optimizer.lr=...; on resume the schedule '
            'follows the config) or check the data.')


def reduce_log_vars(log_vars: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Under DDP each rank's loss is a partial sum of the global loss: sum
    them for logging (one collective); other entries are rank means."""
    world = get_world_size()
    if world == 1 or not log_vars:
        return log_vars
    keys = list(log_vars)
    values = torch.stack([
        torch.as_tensor(log_vars[k], dtype=torch.float).reshape(())
        for k in keys
    ])
    all_reduce(values, op='sum')
    reduced = dict(zip(keys, values))
    for k in keys:
        if 'loss' not in k:
            reduced[k] = reduced[k] / world
    return reduced
