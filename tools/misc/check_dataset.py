# Copyright (c) mtlpartial contributors. All rights reserved.
"""Validate a dataset root without training.

Reads every image and every task's ground truth of a split (all tasks,
whatever the partial-label setting), validates them with the task specs and
reports counts, shapes, dtypes and value ranges per task, then every
problem found (missing file, wrong shape, out-of-range label, NaN,
mismatched sizes) with its file name. Exit code 1 if there is a problem.

Examples:
    python tools/misc/check_dataset.py data/nyuv2 --type nyuv2
    python tools/misc/check_dataset.py data/cityscapes --type cityscapes \
        --split val --num-classes 19
    python tools/misc/check_dataset.py data/PASCAL_MT --type pascal \
        --max-images 200
"""
import argparse
import os.path as osp
import sys
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402

from mtlpartial.datasets.base_multitask_dataset import \
    check_image  # noqa: E402

DATASET_TYPES = ('nyuv2', 'cityscapes', 'pascal')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Check a multi-task dataset root')
    parser.add_argument('data_root', help='dataset root folder')
    parser.add_argument(
        '--type', required=True, choices=DATASET_TYPES, help='layout')
    parser.add_argument('--split', default='train', help='split to check')
    parser.add_argument(
        '--max-images', type=int, default=None,
        help='check only the first N images')
    parser.add_argument(
        '--num-classes', type=int, default=7,
        help='Cityscapes: 7 or 19 (selects label_7 / label_19)')
    parser.add_argument(
        '--max-problems', type=int, default=50,
        help='problems printed in full (all are counted)')
    return parser.parse_args(argv)


def build_dataset(args: argparse.Namespace):
    """The dataset with all tasks labelled and no pipeline; files are not
    checked at init (missing ones are reported one by one)."""
    common = dict(
        data_root=args.data_root,
        split=args.split,
        test_mode=True,
        check_files=False,
        serialize_data=False)
    if args.type == 'nyuv2':
        from mtlpartial.datasets.nyuv2_dataset import NYUv2Dataset
        return NYUv2Dataset(**common)
    if args.type == 'cityscapes':
        from mtlpartial.datasets.cityscapes_dataset import CityscapesDataset
        return CityscapesDataset(num_classes=args.num_classes, **common)
    from mtlpartial.datasets.pascal_context_dataset import \
        PascalContextDataset
    return PascalContextDataset(**common)


class TaskStats:
    """Running statistics of one task's ground truth."""

    def __init__(self) -> None:
        self.count = 0
        self.raw_shapes: Dict[tuple, int] = defaultdict(int)
        self.raw_dtypes: Dict[str, int] = defaultdict(int)
        self.lo = np.inf
        self.hi = -np.inf
        self.valid = 0
        self.pixels = 0
        self.values: set = set()

    def update(self, raw: np.ndarray, gt: np.ndarray, spec) -> None:
        self.count += 1
        self.raw_shapes[tuple(raw.shape)] += 1
        self.raw_dtypes[str(raw.dtype)] += 1
        valid = valid_mask(spec, gt)
        self.valid += int(valid.sum())
        self.pixels += int(valid.size)
        if valid.any():
            vals = gt[valid] if gt.shape[2] == 1 else gt[valid[..., 0]]
            self.lo = min(self.lo, float(vals.min()))
            self.hi = max(self.hi, float(vals.max()))
            if spec.kind in ('semseg', 'binary') and len(self.values) < 300:
                self.values.update(np.unique(vals).tolist())

    def summary(self) -> str:
        if not self.count:
            return 'no file read'
        shapes = ', '.join(f'{s} x{n}' for s, n in sorted(
            self.raw_shapes.items(), key=lambda kv: -kv[1])[:3])
        dtypes = ', '.join(sorted(self.raw_dtypes))
        frac = self.valid / max(self.pixels, 1)
        text = (f'{self.count} files; shapes {shapes}; dtypes {dtypes}; '
                f'valid pixels {100 * frac:.1f}%')
        if np.isfinite(self.lo):
            text += f'; valid range [{self.lo:.4g}, {self.hi:.4g}]'
        if self.values:
            vals = sorted(self.values)
            text += f'; values {vals[:25]}{" ..." if len(vals) > 25 else ""}'
        return text


def valid_mask(spec, gt: np.ndarray) -> np.ndarray:
    """``(H, W, 1)`` bool valid mask of a canonical ``(H, W, C)`` array."""
    if spec.kind == 'normal':
        return (np.abs(gt).sum(2, keepdims=True) != 0)
    if spec.kind == 'depth':
        return gt != 0
    return gt != spec.ignore_index


def check(dataset, max_images: Optional[int]) -> tuple:
    """Read every file; returns (image stats, task stats, problems)."""
    problems: List[str] = []
    stats = {t: TaskStats() for t in dataset.task_names}
    img_shapes: Dict[tuple, int] = defaultdict(int)
    img_dtypes: Dict[str, int] = defaultdict(int)
    n = len(dataset) if max_images is None else min(len(dataset),
                                                    max_images)
    bar = ProgressBar(n, file=sys.stdout)
    for idx in range(n):
        info = dataset.get_data_info(idx)
        img_shape = None
        try:
            raw_img, where = dataset.load_image(info)
            raw_img = np.asarray(raw_img)
            img_shapes[tuple(raw_img.shape)] += 1
            img_dtypes[str(raw_img.dtype)] += 1
            img_shape = check_image(raw_img, where).shape[:2]
        except (OSError, ValueError, KeyError) as e:
            problems.append(f'image {info["image_id"]!r}: {e}')
        for task in info['labelled_tasks']:
            spec = dataset.task_specs[task]
            try:
                raw, where = dataset.load_gt(task, info)
                raw = np.asarray(raw)
                gt = spec.validate_gt(raw.copy(), where=where)
                if img_shape is not None and gt.shape[:2] != img_shape:
                    raise ValueError(
                        f'{where}: ground truth of task "{task}" has size '
                        f'{gt.shape[:2]} but the image has size {img_shape}')
                stats[task].update(raw, gt, spec)
            except (OSError, ValueError, KeyError) as e:
                problems.append(f'task {task}, image {info["image_id"]!r}: '
                                f'{e}')
        bar.update()
    sys.stdout.write('\n')
    return n, img_shapes, img_dtypes, stats, problems


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        dataset = build_dataset(args)
    except (OSError, ValueError, KeyError) as e:
        print(f'PROBLEM: cannot index {args.data_root} as {args.type} '
              f'(split {args.split!r}): {e}')
        return 1
    print(f'{type(dataset).__name__}: root {args.data_root}, split '
          f'{args.split!r}, {len(dataset)} images, tasks '
          f'{list(dataset.task_names)}')
    n, img_shapes, img_dtypes, stats, problems = check(
        dataset, args.max_images)
    print(f'checked {n} images')
    shapes = ', '.join(f'{s} x{c}' for s, c in sorted(
        img_shapes.items(), key=lambda kv: -kv[1])[:3])
    print(f'  images: shapes {shapes}; dtypes {sorted(img_dtypes)}')
    for task, st in stats.items():
        spec = dataset.task_specs[task]
        print(f'  {task} ({type(spec).__name__}): {st.summary()}')
    if problems:
        print(f'{len(problems)} PROBLEM(S):')
        for p in problems[:args.max_problems]:
            print(f'  - {p}')
        if len(problems) > args.max_problems:
            print(f'  ... and {len(problems) - args.max_problems} more')
        return 1
    print('no problem found')
    return 0


if __name__ == '__main__':
    sys.exit(main())
