# Copyright (c) mtlpartial contributors. All rights reserved.
"""Draw multi-task panels of predictions during validation and testing."""
import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook

from mtlpartial.registry import HOOKS
from mtlpartial.visualization import MultiTaskLocalVisualizer


@HOOKS.register_module()
class MultiTaskVisualizationHook(Hook):
    """Draw input, ground truth and prediction of every task.

    The runner's visualizer (``runner.visualizer``, the
    :class:`MultiTaskLocalVisualizer` built from the config's
    ``visualizer``, also ``Visualizer.get_current_instance()``) draws each
    panel. Without ``show_dir`` every vis
    backend of the visualizer receives it (``LocalVisBackend``:
    ``<work_dir>/<timestamp>/vis_data/vis_image/<mode>_<image id>_<step>.png``,
    TensorBoard: tag ``<mode>_<image id>``), with ``step`` the training
    iteration for validation and 0 for testing. With ``show_dir`` the
    panels are written to that folder instead (``<mode>_<image id>.png``,
    validation adds ``_<step>``).

    Args:
        draw (bool): enable drawing. Defaults to False (``tools/test.py
            --show-dir`` and the demo configs enable it).
        interval (int): draw every ``interval`` val/test iterations.
        max_images (int): at most this many images per val/test run.
        show_dir (str, optional): write the panels to this folder instead
            of the vis backends; relative paths are under the work dir.
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

    @staticmethod
    def visualizer(runner) -> MultiTaskLocalVisualizer:
        """The runner's visualizer; a clear error if it cannot draw
        multi-task samples."""
        vis = runner.visualizer
        if not isinstance(vis, MultiTaskLocalVisualizer):
            raise TypeError(
                'MultiTaskVisualizationHook draws with the runner\'s '
                'visualizer, which must be a MultiTaskLocalVisualizer; the '
                f'config builds {type(vis).__name__}. Set visualizer = '
                "dict(type='MultiTaskLocalVisualizer', vis_backends=...) "
                '(configs/_base_/default_runtime.py does) or '
                'default_hooks.visualization.draw=False')
        return vis

    def _out_file(self, runner, name: str, step: int,
                  mode: str) -> Optional[str]:
        if self.show_dir is None:
            return None
        folder = self.show_dir if osp.isabs(self.show_dir) else osp.join(
            runner.work_dir, self.show_dir)
        return osp.join(folder, f'{name}.png' if mode == 'test' else
                        f'{name}_{step}.png')

    def before_val(self, runner) -> None:
        self._count = 0

    def before_test(self, runner) -> None:
        self._count = 0

    def _draw(self, runner, batch_idx: int, data_batch: dict,
              outputs: Sequence, mode: str) -> None:
        if not self.draw or batch_idx % self.interval != 0 or \
                self._count >= self.max_images:
            return
        vis = self.visualizer(runner)
        model = runner.model.module if hasattr(runner.model, 'module') \
            else runner.model
        step = runner.iter if mode == 'val' else 0
        for image, sample in zip(data_batch['inputs'], outputs):
            if self._count >= self.max_images:
                return
            view0 = image[0] if image.dim() == 4 else image
            image_id = sample.metainfo.get(
                'image_id', sample.metainfo.get('sample_idx', self._count))
            name = f'{mode}_{image_id}'
            vis.add_datasample(
                name, view0, sample, tasks=model.tasks, step=step,
                out_file=self._out_file(runner, name, step, mode))
            self._count += 1

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        self._draw(runner, batch_idx, data_batch, outputs, 'val')

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        self._draw(runner, batch_idx, data_batch, outputs, 'test')
