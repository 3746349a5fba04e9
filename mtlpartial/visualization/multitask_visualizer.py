# Copyright (c) mtlpartial contributors. All rights reserved.
"""The multi-task visualizer: one titled panel figure per sample.

The figure has one column for the input and one per task, and up to two
rows: ground truth (where the sample is labelled; an unlabelled task is a
grey cell marked "unlabelled", its label never having been loaded) and
prediction. Segmentation columns carry a class legend, depth columns a
colour bar shared by ground truth and prediction, normals are drawn as RGB
``(n + 1) / 2`` and binary maps in grey. Every cell is drawn
``cell_height`` pixels high, so small inputs are upscaled (nearest
neighbour) and large ones reduced.

:meth:`MultiTaskLocalVisualizer.add_datasample` hands the drawn figure to
every configured vis backend (``LocalVisBackend`` files,
``TensorboardVisBackend``, W&B ...) through mmengine's ``add_image``, or
writes it to ``out_file`` instead (``tools/test.py --show-dir``, the
inferencer), like mmseg's ``SegLocalVisualizer``.
"""
from typing import List, Mapping, Optional, Sequence

import mmcv
import numpy as np
import torch
from mmengine.dist import master_only
from mmengine.visualization import Visualizer

from mtlpartial.registry import VISUALIZERS
from mtlpartial.structures import MultiTaskDataSample
from mtlpartial.tasks import BaseTask
from .colorize import colorize, seg_palette

#: show every class in a segmentation legend up to this many classes,
#: otherwise only the classes present in the ground truth or prediction.
MAX_LEGEND_CLASSES = 16


def to_numpy(value) -> np.ndarray:
    """A tensor (any device) or array as a float/int numpy array."""
    if torch.is_tensor(value):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def to_rgb_uint8(image) -> np.ndarray:
    """An image as ``(H, W, 3)`` uint8 RGB.

    Args:
        image: ``(3, H, W)`` tensor or array, or ``(H, W, 3)`` array; float
            in ``[0, 1]`` or uint8.
    """
    img = to_numpy(image)
    if img.ndim == 3 and img.shape[0] == 3 and img.shape[2] != 3:
        img = np.transpose(img, (1, 2, 0))
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError('MultiTaskLocalVisualizer: expected an RGB image '
                         f'(H, W, 3) or (3, H, W), got {img.shape}')
    if img.dtype == np.uint8:
        return np.ascontiguousarray(img)
    return (np.clip(img.astype(np.float32), 0, 1) * 255 + 0.5).astype(
        np.uint8)


@VISUALIZERS.register_module()
class MultiTaskLocalVisualizer(Visualizer):
    """Visualizer of multi-task dense predictions.

    Args:
        name (str): instance name. Defaults to 'visualizer'.
        image (np.ndarray, optional): the image to draw on.
        vis_backends (list[dict], optional): vis backend configs.
        save_dir (str, optional): folder of the backends' files.
        cell_height (int): height in pixels of every cell. Defaults to 240.
        dpi (int): resolution of the figure. Defaults to 100.
        **kwargs: passed to :class:`mmengine.visualization.Visualizer`.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[dict]] = None,
                 save_dir: Optional[str] = None,
                 cell_height: int = 240,
                 dpi: int = 100,
                 **kwargs) -> None:
        super().__init__(
            name=name,
            image=image,
            vis_backends=vis_backends,
            save_dir=save_dir,
            **kwargs)
        if int(cell_height) < 16:
            raise ValueError('MultiTaskLocalVisualizer: cell_height must be '
                             f'>= 16 pixels, got {cell_height}')
        self.cell_height = int(cell_height)
        self.panel_dpi = int(dpi)

    # ------------------------------------------------------------- drawing
    def draw_multitask(self,
                       image,
                       data_sample: MultiTaskDataSample,
                       tasks: Mapping[str, BaseTask],
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       title: Optional[str] = None) -> np.ndarray:
        """Draw the panel figure of one sample (see :meth:`make_figure`).

        Returns:
            np.ndarray: ``(H', W', 3)`` uint8 RGB.
        """
        fig = self.make_figure(image, data_sample, tasks, draw_gt, draw_pred,
                               title)
        fig.canvas.draw()
        return np.ascontiguousarray(
            np.asarray(fig.canvas.buffer_rgba())[..., :3])

    def make_figure(self,
                    image,
                    data_sample: MultiTaskDataSample,
                    tasks: Mapping[str, BaseTask],
                    draw_gt: bool = True,
                    draw_pred: bool = True,
                    title: Optional[str] = None):
        """The matplotlib figure of one sample (on an Agg canvas).

        Args:
            image: the input (view 0), see :func:`to_rgb_uint8`.
            data_sample: ``gt_<task>`` ``(V, C, H, W)`` for the labelled
                tasks and/or ``pred_<task>`` ``(C, H, W)``.
            tasks: the task specs, in column order (``model.tasks``).
            draw_gt: draw the ground-truth row (tasks without ``gt_<task>``
                are marked "unlabelled").
            draw_pred: draw the prediction row.
            title: figure title (e.g. the image id).

        Returns:
            matplotlib.figure.Figure: axes ``[row, column]`` (column 0 the
            input), one colour bar per depth task, one legend per
            segmentation task.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        if not tasks:
            raise ValueError('MultiTaskLocalVisualizer: no tasks to draw')
        img = to_rgb_uint8(image)
        rows = [r for r, on in (('gt', draw_gt), ('pred', draw_pred)) if on]
        if not rows:
            raise ValueError('MultiTaskLocalVisualizer: draw_gt and '
                             'draw_pred are both False')
        values = {row: {} for row in rows}
        for name in tasks:
            if 'gt' in values and f'gt_{name}' in data_sample:
                values['gt'][name] = to_numpy(data_sample.get_gt(name))[0]
            if 'pred' in values and f'pred_{name}' in data_sample:
                values['pred'][name] = to_numpy(data_sample.get_pred(name))
        h, w = img.shape[:2]
        cell_w = self.cell_height * w / h / self.panel_dpi
        cell_h = self.cell_height / self.panel_dpi
        extra_w = sum(0.9 for t in tasks.values() if t.kind == 'depth')
        legend_h = max([self._legend_height(t) for t in tasks.values()] +
                       [0.])
        fig = Figure(
            figsize=((1 + len(tasks)) * (cell_w + 0.15) + extra_w,
                     len(rows) * (cell_h + 0.35) + legend_h +
                     (0.4 if title else 0.1)),
            dpi=self.panel_dpi,
            layout='constrained')
        FigureCanvasAgg(fig)
        axes = fig.subplots(len(rows), 1 + len(tasks), squeeze=False)
        for ax in axes.flat:
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, 0].imshow(img, interpolation='nearest')
        axes[0, 0].set_title('input', fontsize=9)
        for ax in axes[1:, 0]:
            ax.set_axis_off()
        for k, (name, task) in enumerate(tasks.items(), 1):
            column = [values[row].get(name) for row in rows]
            images = [
                self._draw_cell(axes[r, k], task, column[r], column, (h, w),
                                f'{name}: ' + ('ground truth' if row == 'gt'
                                               else 'prediction'),
                                'unlabelled' if row == 'gt' else
                                'no prediction')
                for r, row in enumerate(rows)
            ]
            if task.kind == 'depth':
                drawn = [im for im in images if im is not None]
                if drawn:
                    fig.colorbar(
                        drawn[0], ax=list(axes[:, k]), shrink=0.9,
                        label='inverse depth' if getattr(
                            task, 'inverse', False) else 'depth')
            elif task.kind == 'semseg':
                self._seg_legend(axes[-1, k], task, column)
        if title:
            fig.suptitle(title, fontsize=10)
        return fig

    def _draw_cell(self, ax, task: BaseTask, value: Optional[np.ndarray],
                   column: Sequence[Optional[np.ndarray]], size,
                   title: str, missing: str):
        """Draw one cell; returns the depth ``AxesImage`` (for the colour
        bar) or None."""
        ax.set_title(title, fontsize=9)
        if value is None:
            ax.imshow(np.full(size, 0.85), cmap='gray', vmin=0, vmax=1)
            ax.text(0.5, 0.5, missing, ha='center', va='center',
                    fontsize=10, color='0.3', transform=ax.transAxes)
            return None
        if task.kind == 'depth':
            import matplotlib
            lo, hi = self._depth_range(column)
            depth = np.ma.masked_less_equal(value[0], 0)
            cmap = matplotlib.colormaps['viridis'].with_extremes(
                bad='black')
            return ax.imshow(depth, cmap=cmap, vmin=lo, vmax=hi,
                             interpolation='nearest')
        ax.imshow(colorize(task, value), interpolation='nearest')
        return None

    @staticmethod
    def _depth_range(column: Sequence[Optional[np.ndarray]]):
        """Colour range of a depth column: the valid ground truth's if
        there is one (prediction errors then show), else the
        prediction's."""
        for value in column:
            if value is not None and (value > 0).any():
                valid = value[value > 0]
                lo, hi = float(valid.min()), float(valid.max())
                return lo, max(hi, lo + 1e-6)
        return 0.0, 1.0

    @staticmethod
    def _legend_height(task: BaseTask) -> float:
        if task.kind != 'semseg':
            return 0.
        shown = min(task.num_classes, MAX_LEGEND_CLASSES) + 1
        return 0.2 * (shown + 1) / 2

    @staticmethod
    def _seg_legend(ax, task: BaseTask,
                    column: Sequence[Optional[np.ndarray]]) -> None:
        """Class legend below the bottom cell of a segmentation column."""
        from matplotlib.patches import Patch
        maps = [v[0].astype(np.int64) for v in column if v is not None]
        present = np.unique(np.concatenate([m.ravel() for m in maps])) \
            if maps else np.zeros(0, np.int64)
        classes = range(task.num_classes)
        if task.num_classes > MAX_LEGEND_CLASSES:
            classes = [c for c in classes if c in set(present.tolist())]
        palette = seg_palette(task.num_classes) / 255.
        handles = [
            Patch(facecolor=palette[c], edgecolor='0.4',
                  label=task.class_names[c]) for c in classes
        ]
        if (present == task.ignore_index).any():
            handles.append(Patch(facecolor='black', label='ignored'))
        if handles:
            ax.legend(
                handles=handles, loc='upper center',
                bbox_to_anchor=(0.5, -0.02), ncol=2, fontsize=8,
                frameon=False, handlelength=1.2, columnspacing=0.8)

    # ------------------------------------------------------------ backends
    @master_only
    def add_datasample(self,
                       name: str,
                       image,
                       data_sample: Optional[MultiTaskDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       tasks: Optional[Mapping[str, BaseTask]] = None
                       ) -> None:
        """Draw a sample and record it.

        Without ``out_file`` the figure goes to every vis backend
        (``add_image(name, figure, step)``); with ``out_file`` it is
        written to that file only. :meth:`get_image` returns it.

        Args:
            name: image identifier for the backends (e.g. ``val_<id>``).
            image: the input (view 0).
            data_sample: the sample with ``gt_<task>`` / ``pred_<task>``.
            draw_gt, draw_pred: which rows to draw.
            show: also show the figure in a window.
            wait_time: seconds the window stays (0: until closed).
            out_file: write the figure to this PNG instead of the backends.
            step: global step for the backends.
            tasks: the task specs (``model.tasks``); required.
        """
        if data_sample is None or tasks is None:
            raise ValueError(
                'MultiTaskLocalVisualizer.add_datasample needs the data '
                'sample and the task specs (tasks=model.tasks)')
        drawn = self.draw_multitask(image, data_sample, tasks, draw_gt,
                                    draw_pred, title=name)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawn), out_file)
        else:
            self.add_image(name, drawn, step)

