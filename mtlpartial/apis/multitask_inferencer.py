# Copyright (c) mtlpartial contributors. All rights reserved.
"""The multi-task inferencer: images, folders or arrays in, panels and
per-task arrays out."""
import os
import os.path as osp
from typing import Iterable, List, Optional, Sequence, Union

import mmcv
import numpy as np
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.infer import BaseInferencer
from mmengine.visualization import Visualizer

from mtlpartial.registry import INFERENCERS, VISUALIZERS
from mtlpartial.visualization import MultiTaskLocalVisualizer
from .image_inputs import ImageType, list_images, load_image, output_names
from .inference import (InferencePipeline, init_model, predict_batch,
                        prediction_arrays, same_size_batches)


@INFERENCERS.register_module()
class MultiTaskInferencer(BaseInferencer):
    """Predict every task of a trained model on images.

    Inputs are image files, folders (their image files, sorted), RGB arrays
    or a list of them (see :mod:`mtlpartial.apis.inference`). Consecutive
    inputs of one size are batched. With ``out_dir`` it writes, per input
    ``<name>`` (the file stem, ``array_<i>`` for arrays):

    * ``out_dir/vis/<name>.png``: the input and every task's prediction as
      titled panels (:class:`MultiTaskLocalVisualizer`, the visualizer of
      training and testing), with a class legend and a depth colour bar;
    * with ``save_arrays=True``, ``out_dir/pred/<name>_<task>.png`` for
      class-id maps (uint8, uint16 beyond 255 classes) and
      ``out_dir/pred/<name>_<task>.npy`` for the others (depth ``(H, W)``,
      normals ``(H, W, 3)``, binary probabilities ``(H, W)``, float32).

    Example:
        >>> inferencer = MultiTaskInferencer(
        ...     'configs/supervised/synthetic_onelabel.py', 'epoch_12.pth')
        >>> result = inferencer('demo_images/', out_dir='out')
        >>> result['predictions'][0]['depth'].shape   # (H, W)

    Args:
        model (str | Config): the config (file) of the model.
        weights (str, optional): the checkpoint; None keeps random weights.
        device (str): 'cpu' (default), 'cuda', ...
        scope (str): registry scope. Defaults to 'mtlpartial'.
        show_progress (bool): progress bar. Defaults to True.
    """
    preprocess_kwargs: set = set()
    forward_kwargs: set = set()
    visualize_kwargs: set = {'show', 'wait_time', 'img_out_dir'}
    postprocess_kwargs: set = {'pred_out_dir'}

    def __init__(self,
                 model: Union[str, Config],
                 weights: Optional[str] = None,
                 device: str = 'cpu',
                 scope: str = 'mtlpartial',
                 show_progress: bool = True) -> None:
        if isinstance(model, (str, os.PathLike)) and not osp.isfile(model):
            raise FileNotFoundError(f'config file not found: {model}')
        super().__init__(
            model=model,
            weights=weights,
            device=device,
            scope=scope,
            show_progress=show_progress)

    # ------------------------------------------------------------- set-up
    def _init_model(self, cfg: Config, weights: Optional[str],
                    device: str = 'cpu'):
        """Strict, weights-only loading (:func:`init_model`)."""
        return init_model(cfg, weights, device)

    def _init_pipeline(self, cfg: Config) -> InferencePipeline:
        return InferencePipeline(cfg, self.model.tasks)

    def _init_visualizer(self, cfg: Config) -> MultiTaskLocalVisualizer:
        """The config's visualizer settings (cell size ...) without its
        backends: the panels are written to ``out_dir``."""
        vis_cfg = dict(cfg.get('visualizer', {}))
        if vis_cfg.get('type') not in (None, 'MultiTaskLocalVisualizer'):
            vis_cfg = {}  # e.g. the plain Visualizer of older configs
        name = f'{vis_cfg.get("name", "visualizer")}_inferencer'
        suffix = 0
        while Visualizer.check_instance_created(name + str(suffix or '')):
            suffix += 1
        vis_cfg.update(type='MultiTaskLocalVisualizer',
                       name=name + str(suffix or ''), vis_backends=None,
                       save_dir=None)
        return VISUALIZERS.build(vis_cfg)

    # ------------------------------------------------------------ running
    def __call__(self,
                 inputs: Union[ImageType, Sequence[ImageType]],
                 return_datasamples: bool = False,
                 batch_size: int = 1,
                 out_dir: str = '',
                 save_arrays: bool = False,
                 show: bool = False,
                 wait_time: float = 0) -> dict:
        """Predict ``inputs``.

        Args:
            inputs: image file, folder, RGB array, or a list of them.
            return_datasamples: return :class:`MultiTaskDataSample` s
                instead of ``{task: array}`` dicts.
            batch_size: images per forward. Defaults to 1.
            out_dir: write the panels (and arrays) under this folder.
            save_arrays: also write the raw per-task arrays.
            show: show each panel in a window.
            wait_time: seconds a window stays (0: until closed).

        Returns:
            dict: ``predictions`` (one per input, in input order) and
            ``visualization`` (the panels as RGB arrays, or None when
            neither ``out_dir`` nor ``show`` is given).
        """
        if save_arrays and not out_dir:
            raise ValueError('save_arrays=True needs out_dir')
        return super().__call__(
            inputs,
            return_datasamples=return_datasamples,
            batch_size=batch_size,
            show=show,
            wait_time=wait_time,
            img_out_dir=osp.join(out_dir, 'vis') if out_dir else '',
            pred_out_dir=osp.join(out_dir, 'pred')
            if out_dir and save_arrays else '')

    def _inputs_to_list(self, inputs) -> list:
        """Expand folders; check that every path exists."""
        items = list(inputs) if isinstance(inputs, (list, tuple)) \
            else [inputs]
        expanded = []
        for item in items:
            if isinstance(item, (str, os.PathLike)):
                path = os.fspath(item)
                if osp.isdir(path):
                    expanded += list_images(path)
                    continue
                if not osp.isfile(path):
                    raise FileNotFoundError(f'image file not found: {path}')
            expanded.append(item)
        if not expanded:
            raise ValueError('MultiTaskInferencer: no inputs given')
        return expanded

    def preprocess(self, inputs: list, batch_size: int = 1,
                   **kwargs) -> Iterable[dict]:
        """Pack each input, then batch consecutive inputs of one size."""
        packed = (self.pipeline(img, name, i) for i, (img, name) in
                  enumerate(zip(inputs, output_names(inputs))))
        yield from map(pseudo_collate, same_size_batches(packed, batch_size))

    def forward(self, inputs: dict, **kwargs) -> list:
        return predict_batch(self.model, inputs)

    def visualize(self,
                  inputs: list,
                  preds: list,
                  show: bool = False,
                  wait_time: float = 0,
                  img_out_dir: str = '') -> Optional[List[np.ndarray]]:
        """Draw the prediction panel of each input."""
        if not show and not img_out_dir:
            return None
        panels = []
        for img, pred in zip(inputs, preds):
            name = pred.metainfo['image_id']
            self.visualizer.add_datasample(
                name, load_image(img, name), pred, draw_gt=False, show=show,
                wait_time=wait_time, tasks=self.model.tasks,
                out_file=osp.join(img_out_dir, f'{name}.png')
                if img_out_dir else None)
            panels.append(self.visualizer.get_image())
        return panels

    def postprocess(self,
                    preds: list,
                    visualization: Optional[List[np.ndarray]],
                    return_datasample: bool = False,
                    pred_out_dir: str = '') -> dict:
        """Write the arrays (``pred_out_dir``) and pack the results."""
        tasks = list(self.model.tasks)
        arrays = [prediction_arrays(p, tasks) for p in preds]
        if pred_out_dir:
            os.makedirs(pred_out_dir, exist_ok=True)
            for pred, per_task in zip(preds, arrays):
                for task, value in per_task.items():
                    stem = osp.join(pred_out_dir,
                                    f'{pred.metainfo["image_id"]}_{task}')
                    if value.dtype.kind in 'iu':  # class ids
                        classes = getattr(self.model.tasks[task],
                                          'num_classes', 0)
                        dtype = np.uint8 if classes <= 256 else np.uint16
                        mmcv.imwrite(value.astype(dtype), stem + '.png')
                    else:
                        np.save(stem + '.npy', value.astype(np.float32))
        return dict(
            predictions=preds if return_datasample else arrays,
            visualization=visualization)
