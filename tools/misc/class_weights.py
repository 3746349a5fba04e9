# Copyright (c) mtlpartial contributors. All rights reserved.
"""Median-frequency class weights of a config's training set.

Eigen & Fergus (ICCV 2015): ``w_c = median(f) / f_c``, where ``f_c`` is the
number of pixels of class ``c`` divided by the number of pixels of the
training images in which ``c`` appears. These are the ``class_weight`` of
``SemSegTask`` in the synthetic protocol (docs/synthetic.md). Only the
images whose segmentation is labelled under the config's partial-label
setting are counted, so a weight never uses a withheld label; pass
``--every-label`` to count every image (the protocol computes its weights
on the full-label config, which is the same set of images).

Example:
    python tools/misc/class_weights.py \
        configs/supervised/supervised_segnet-small_1xb10-demo_synthetic_full.py
    # the protocol's weights: the first 150 scenes, panels 1x
    python tools/misc/class_weights.py configs/supervised/synthetic_full.py \
        --cfg-options train_dataloader.dataset.num_images=150 \
        train_dataloader.dataset.scene.panel_scale=1.0
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional, Sequence

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

import mtlpartial  # noqa: E402,F401
from mtlpartial.registry import DATASETS  # noqa: E402


def median_frequency_weights(class_pixels: Sequence[float],
                             present_pixels: Sequence[float]) -> np.ndarray:
    """``median(f) / f`` with ``f = class_pixels / present_pixels``.

    Args:
        class_pixels: ``(C,)`` pixels of each class over the images.
        present_pixels: ``(C,)`` pixels of the images in which each class
            appears (all their labelled pixels).

    Returns:
        np.ndarray: ``(C,)`` weights.

    Raises:
        ValueError: a class never appears (its weight is undefined).
    """
    class_pixels = np.asarray(class_pixels, dtype=np.float64)
    present_pixels = np.asarray(present_pixels, dtype=np.float64)
    missing = np.flatnonzero(class_pixels <= 0)
    if missing.size:
        raise ValueError(f'classes {missing.tolist()} never appear: their '
                         'median-frequency weight is undefined')
    freq = class_pixels / present_pixels
    return np.median(freq) / freq


def count_pixels(label_maps, num_classes: int, ignore_index: int = 255):
    """Per-class pixel counts and the pixels of the images each class
    appears in, over an iterable of ``(H, W)`` integer label maps."""
    class_pixels = np.zeros(num_classes, dtype=np.int64)
    present_pixels = np.zeros(num_classes, dtype=np.int64)
    for seg in label_maps:
        seg = np.asarray(seg)
        valid = seg[seg != ignore_index]
        if valid.size and (valid.min() < 0 or valid.max() >= num_classes):
            raise ValueError(f'label values must be in [0, {num_classes}) '
                             f'or {ignore_index}, got {np.unique(valid)}')
        counts = np.bincount(valid, minlength=num_classes)
        class_pixels += counts
        present_pixels += (counts > 0) * valid.size
    return class_pixels, present_pixels


def main(argv: Optional[List[str]] = None) -> np.ndarray:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--task', default='semseg',
                        help='segmentation task name')
    parser.add_argument('--every-label', action='store_true',
                        help='count every image, not only the labelled ones')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in tools/train.py '
                        '(e.g. train_dataloader.dataset.num_images=150)')
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mtlpartial'))
    ds_cfg = cfg.train_dataloader.dataset.copy()
    ds_cfg.pipeline = []
    if args.every_label:
        ds_cfg.partial_labels = None
    dataset = DATASETS.build(ds_cfg)
    if args.task not in dataset.task_names:
        raise KeyError(f'{args.config}: task "{args.task}" not in the '
                       f'dataset tasks {dataset.task_names}')
    spec = dataset.task_specs[args.task]
    if not hasattr(spec, 'num_classes'):
        raise TypeError(f'{args.config}: task "{args.task}" is a '
                        f'{type(spec).__name__}; class weights need a '
                        'segmentation task (SemSegTask)')
    maps = (sample['gt_maps'][args.task]
            for sample in (dataset[i] for i in range(len(dataset)))
            if args.task in sample['gt_maps'])
    class_pixels, present = count_pixels(maps, spec.num_classes,
                                         spec.ignore_index)
    weights = median_frequency_weights(class_pixels, present)
    names = getattr(spec, 'class_names', None) or range(spec.num_classes)
    for name, f, w in zip(names, class_pixels / present, weights):
        print(f'{name!s:>12}: f = {100 * f:5.1f}%  weight {w:.3f}')
    print('class_weight=(' + ', '.join(f'{w:.3f}' for w in weights) + ')')
    return weights


if __name__ == '__main__':
    main()
