# Copyright (c) mtlpartial contributors. All rights reserved.
"""Write PNG panels of predictions during validation and testing."""
import os.path as osp
from typing import Optional, Sequence

import cv2
import mmengine
from mmengine.hooks import Hook

from mtlpartial.registry import HOOKS
from mtlpartial.visualization import render_panel


@HOOKS.register_module()
class MultiTaskVisualizationHook(Hook):
    """Draw input, ground truth and prediction of every task as PNGs.

    Args:
        draw (bool): enable drawing. Defaults to False (``tools/test.py
            --show-dir`` and the demo configs enable it).
        interval (int): draw every ``interval`` val/test iterations.
        max_images (int): at most this many images per val/test run.
        show_dir (str, optional): output folder. Defaults to
            ``<work_dir>/<timestamp>/vis_data/<mode>``; relative paths are
            under the work dir.
    """
    priority = 'NORMAL'

    def __init__(self,
                 draw: bool = False,
                 interval: int = 1,
                 max_images: int = 8,
                 show_dir: Optional[str] = None) -> None:
        self.draw = draw
        self.interval = max(1, int(interval))
        self.max_images = int(max_images)
        self.show_dir = show_dir
        self._count = 0

    def _out_dir(self, runner, mode: str) -> str:
        if self.show_dir is None:
            return osp.join(runner.log_dir, 'vis_data', mode)
        if osp.isabs(self.show_dir):
            return self.show_dir
        return osp.join(runner.work_dir, self.show_dir)

    def before_val(self, runner) -> None:
        self._count = 0

    def before_test(self, runner) -> None:
        self._count = 0

    def _draw(self, runner, batch_idx: int, data_batch: dict,
              outputs: Sequence, mode: str) -> None:
        if not self.draw or batch_idx % self.interval != 0:
            return
        model = runner.model.module if hasattr(runner.model, 'module') \
            else runner.model
        tasks = model.tasks
        out_dir = self._out_dir(runner, mode)
        mmengine.mkdir_or_exist(out_dir)
        for image, sample in zip(data_batch['inputs'], outputs):
            if self._count >= self.max_images:
                return
            view0 = image[0] if image.dim() == 4 else image
            panel = render_panel(view0, sample, tasks)
            name = sample.metainfo.get('image_id', sample.metainfo.get(
                'sample_idx', self._count))
            epoch = runner.epoch if mode == 'val' else 0
            fname = f'{mode}_{name}.png' if mode == 'test' else \
                f'{mode}_e{epoch}_{name}.png'
            cv2.imwrite(osp.join(out_dir, fname), panel[..., ::-1])
            self._count += 1

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        self._draw(runner, batch_idx, data_batch, outputs, 'val')

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        self._draw(runner, batch_idx, data_batch, outputs, 'test')
