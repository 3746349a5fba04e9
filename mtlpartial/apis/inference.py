# Copyright (c) mtlpartial contributors. All rights reserved.
"""Run a trained multi-task model on images: ``init_model`` and
``inference_model``.

Images are RGB (:mod:`mtlpartial.apis.image_inputs`): files are read with
PIL (like the datasets), arrays must be ``(H, W, 3)`` RGB uint8 or float in
``[0, 1]`` (convert OpenCV's BGR arrays with ``img[..., ::-1]``), ``.npy``
files hold such an array (the MTAN layout).

The config's test pipeline prepares each image; a prediction that comes out
at another size than the input (a ``Resize`` in the pipeline) is resized
back by the task spec (:meth:`BaseTask.resize_pred`, bilinear on logits and
values) before the class decision, so every prediction has the input's
resolution. Pipelines that crop or flip cannot be undone and are refused.
"""
import copy
import os
import os.path as osp
import pickle
import warnings
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope

from mtlpartial.datasets.transforms import PackMultiTaskInputs
from mtlpartial.models.model_utils import crop_to_image
from mtlpartial.registry import MODELS, TRANSFORMS
from mtlpartial.structures import MultiTaskDataSample
from mtlpartial.tasks import BaseTask
from mtlpartial.utils.checkpoint import register_safe_globals
from .image_inputs import ImageType, load_image, output_names

#: metainfo copied from the packed input into the returned samples.
META_KEYS = ('img_path', 'image_id', 'sample_idx', 'ori_shape', 'img_shape')


class CheckpointMismatchError(ValueError):
    """The checkpoint's weights do not fit the model of the config."""


# --------------------------------------------------------------- the model
def init_model(config: Union[str, os.PathLike, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build the model of ``config`` and load ``checkpoint`` into it.

    The checkpoint is read with ``weights_only=True`` (mtlpartial's
    allow-list, :mod:`mtlpartial.utils.checkpoint`) and loaded strictly.
    The returned model is in eval mode on ``device`` and carries the
    config as ``model.cfg`` (its test pipeline is what
    :func:`inference_model` runs), as in mmseg.

    Args:
        config: config file or :class:`Config`.
        checkpoint: checkpoint file; None keeps random weights (warned).
        device: 'cpu', 'cuda', 'cuda:1' ...
        cfg_options: overrides merged into the config.

    Raises:
        FileNotFoundError: the config or checkpoint file does not exist.
        CheckpointMismatchError: the checkpoint is of another model.
        ValueError: the checkpoint cannot be read, or the device is not
            available.
    """
    if isinstance(config, (str, os.PathLike)):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        cfg = Config.fromfile(os.fspath(config))
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        raise TypeError('config must be a file path or a Config, got '
                        f'{type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise KeyError(f'{getattr(cfg, "filename", "config")}: no `model`')
    device = check_device(device)
    init_default_scope(cfg.get('default_scope', 'mtlpartial'))
    model = MODELS.build(copy.deepcopy(cfg.model))
    if checkpoint is None:
        warnings.warn('init_model: no checkpoint given, the model keeps its '
                      'random initial weights')
    else:
        load_weights(model, checkpoint)
    model.cfg = cfg
    return model.to(device).eval()


def check_device(device: Union[str, torch.device]) -> torch.device:
    """``torch.device(device)``; a clear error if it is not available."""
    try:
        dev = torch.device(device)
    except RuntimeError as e:
        raise ValueError(f'unknown device {device!r} ({e})') from None
    if dev.type == 'cuda':
        if not torch.cuda.is_available():
            raise ValueError(f'device {device!r}: CUDA is not available on '
                             'this machine (use --device cpu)')
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f'device {device!r}: only '
                             f'{torch.cuda.device_count()} CUDA device(s)')
    return dev


def load_weights(model: nn.Module, checkpoint: str) -> None:
    """Load the weights of ``checkpoint`` into ``model``, strictly.

    Accepts a Runner checkpoint (``state_dict`` key) or a bare state dict;
    a ``module.`` prefix (saved from a wrapped model) is removed.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a checkpoint that weights-only loading accepts.
        CheckpointMismatchError: missing, unexpected or mis-shaped weights,
            naming the first few of each.
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {checkpoint}')
    register_safe_globals()
    try:
        ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as e:
        raise ValueError(
            f'{checkpoint}: refused by weights-only loading (it holds '
            f'objects other than weights and training state): {e}') from None
    except Exception as e:  # torch raises many kinds on a corrupt file
        raise ValueError(f'{checkpoint}: not a readable PyTorch checkpoint '
                         f'({e})') from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(
            torch.is_tensor(v) for v in state.values()):
        raise ValueError(f'{checkpoint}: no state dict of tensors (expected '
                         'a checkpoint written by tools/train.py)')
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f'{k}: checkpoint {tuple(state[k].shape)} vs model '
        f'{tuple(own[k].shape)}' for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    problems = [(what, keys) for what, keys in (
        ('missing in the checkpoint', missing),
        ('unexpected in the checkpoint', unexpected),
        ('of another shape', mismatched)) if keys]
    if problems:
        detail = '; '.join(
            f'{len(keys)} weights {what} (e.g. {", ".join(keys[:3])})'
            for what, keys in problems)
        raise CheckpointMismatchError(
            f'{checkpoint} does not fit the {type(model).__name__} of the '
            f'config: {detail}. Was it trained with this config?')
    model.load_state_dict(state, strict=True)


# ---------------------------------------------------------------- pipeline
def test_pipeline_cfg(cfg: Config) -> list:
    """The test pipeline of ``cfg``: ``test_dataloader.dataset.pipeline``
    (through dataset wrappers), else ``test_pipeline``."""
    dataset = cfg.get('test_dataloader', {}).get('dataset')
    while isinstance(dataset, (dict, ConfigDict)) and \
            'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset['dataset']
    if isinstance(dataset, (dict, ConfigDict)) and 'pipeline' in dataset:
        return list(copy.deepcopy(dataset['pipeline']))
    if 'test_pipeline' in cfg:
        return list(copy.deepcopy(cfg.test_pipeline))
    raise KeyError(f'{getattr(cfg, "filename", "config")}: no test pipeline '
                   '(test_dataloader.dataset.pipeline or test_pipeline)')


class InferencePipeline:
    """Pack an input with the config's test pipeline, as a dataset would.

    Args:
        cfg: the config (its test pipeline).
        tasks: the model's task specs.
    """

    def __init__(self, cfg: Config, tasks: Mapping[str, BaseTask]) -> None:
        self.tasks = dict(tasks)
        transforms = [TRANSFORMS.build(t) for t in test_pipeline_cfg(cfg)]
        if not transforms or not isinstance(transforms[-1],
                                            PackMultiTaskInputs):
            raise ValueError('the test pipeline must end with '
                             f'PackMultiTaskInputs, got {transforms}')
        self.transforms = Compose(transforms[:-1])
        self.pack = transforms[-1]

    def __call__(self, img: ImageType, name: str = 'array input',
                 index: int = 0) -> dict:
        """``dict(inputs, data_samples)`` of one input, named ``name``."""
        arr = load_image(img, name)
        where = os.fspath(img) if isinstance(img, (str, os.PathLike)) \
            else name
        results = self.transforms(
            dict(img=arr, img_path=where, image_id=name, sample_idx=index,
                 ori_shape=arr.shape[:2], img_shape=arr.shape[:2],
                 flip=False, crop_box=np.array([0., 0., 1., 1.]),
                 tasks=tuple(self.tasks), labelled_tasks=(),
                 task_specs=self.tasks, gt_maps={}))
        boxes = np.asarray(results.get('view_boxes', [results['crop_box']]))
        flips = np.asarray(results.get('view_flips', [results['flip']]))
        if bool(flips[0]) or not np.allclose(boxes[0], [0., 0., 1., 1.]):
            raise ValueError(
                f'{where}: the test pipeline {self.transforms} crops or '
                'flips the image; inference can only undo a resize')
        return self.pack(results)


def same_size_batches(packed: Sequence[dict],
                      batch_size: Optional[int] = None
                      ) -> Iterator[List[dict]]:
    """Consecutive packed inputs of one size, at most ``batch_size``."""
    batch: List[dict] = []
    for item in packed:
        if batch and (item['inputs'].shape != batch[0]['inputs'].shape or
                      (batch_size and len(batch) >= batch_size)):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


# --------------------------------------------------------------- inference
@torch.no_grad()
def predict_batch(model: nn.Module,
                  data: dict) -> List[MultiTaskDataSample]:
    """Predict a collated batch; every prediction at its input's size.

    The model runs in ``tensor`` mode (its data preprocessor first); the
    padding of the preprocessor (``size_divisor``) is cropped, and an
    output whose size still differs from the sample's ``ori_shape`` (a
    ``Resize`` in the test pipeline) is resized by the task spec before
    ``to_prediction``. Predictions are on the CPU.
    """
    samples = data['data_samples']
    batch = model.data_preprocessor(data, False)
    try:
        outputs = model(batch['inputs'], batch['data_samples'],
                        mode='tensor')
    except RuntimeError as e:
        size = tuple(batch['inputs'].shape[-2:])
        raise RuntimeError(f'{type(model).__name__} failed on inputs of '
                           f'size {size} ({samples[0].img_path} ...): {e}'
                           ) from e
    # a padded batch (data_preprocessor.size_divisor): crop the padding
    outputs = crop_to_image(outputs, batch['data_samples'][0].metainfo)
    b = len(samples)
    if any('ori_shape' not in s.metainfo for s in samples):
        raise ValueError('inference needs `ori_shape` in the packed '
                         'metainfo: keep it in PackMultiTaskInputs.meta_keys')
    sizes = [tuple(s.metainfo['ori_shape']) for s in samples]
    results = [
        MultiTaskDataSample(metainfo=dict(
            {k: s.metainfo[k] for k in META_KEYS if k in s.metainfo},
            tasks=tuple(model.tasks), labelled_tasks=()))
        for s in samples
    ]
    align_corners = bool(getattr(model, 'align_corners', False))
    for name, task in model.tasks.items():
        out = outputs[name][:b]
        if all(size == tuple(out.shape[-2:]) for size in sizes):
            preds = list(task.to_prediction(out).cpu())
        else:  # restore each input's size (one resize per sample)
            preds = [
                task.to_prediction(task.resize_pred(
                    out[i:i + 1], size, align_corners))[0].cpu()
                for i, size in enumerate(sizes)
            ]
        for result, pred in zip(results, preds):
            result.set_pred(name, pred)
    return results


def inference_model(model: nn.Module,
                    imgs: Union[ImageType, Sequence[ImageType]],
                    batch_size: Optional[int] = None
                    ) -> Union[MultiTaskDataSample,
                               List[MultiTaskDataSample]]:
    """Predict every task for one image or a list of images.

    Args:
        model: a model from :func:`init_model` (it carries the config).
        imgs: an image file, an RGB array, or a list of them.
        batch_size: at most this many images per forward (consecutive
            images of one size are batched). None: no limit.

    Returns:
        One :class:`MultiTaskDataSample` per image (a single one for a
        single input) with ``pred_<task>`` ``(C, H, W)`` at the image's
        size (class ids for segmentation, values for depth, unit vectors
        for normals, probabilities for binary tasks) and metainfo
        ``img_path``, ``image_id``, ``ori_shape``.
    """
    cfg = getattr(model, 'cfg', None)
    if not isinstance(cfg, Config) or not hasattr(model, 'tasks'):
        raise TypeError('inference_model needs a multi-task model built by '
                        'init_model (it carries the config and its test '
                        'pipeline as model.cfg)')
    single = not isinstance(imgs, (list, tuple))
    items = [imgs] if single else list(imgs)
    if not items:
        raise ValueError('inference_model: no images given')
    pipeline = InferencePipeline(cfg, model.tasks)
    packed = [pipeline(img, name, i)
              for i, (img, name) in enumerate(zip(items, output_names(items)))]
    results: List[MultiTaskDataSample] = []
    for chunk in same_size_batches(packed, batch_size):
        results += predict_batch(model, pseudo_collate(chunk))
    return results[0] if single else results


def prediction_arrays(sample: MultiTaskDataSample,
                      tasks: Sequence[str]) -> Dict[str, np.ndarray]:
    """``{task: array}`` of a predicted sample: ``(H, W)`` for one channel
    (class ids, depth, probability), ``(H, W, C)`` otherwise (normals)."""
    out = {}
    for task in tasks:
        value = sample.get_pred(task).cpu().numpy()
        out[task] = value[0] if value.shape[0] == 1 else np.ascontiguousarray(
            value.transpose(1, 2, 0))
    return out
