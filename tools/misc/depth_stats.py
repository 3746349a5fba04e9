# Copyright (c) mtlpartial contributors. All rights reserved.
"""Mean and std of the valid ground-truth depth of a config's training set.

These are the ``stats`` of ``DepthTask`` used by JTR's CDF encoding ``Φ``.
The official JTR code hard-codes the NYUv2 values and reuses them on
Cityscapes inverse depth, where ``Φ`` becomes nearly constant.

Example:
    python tools/misc/depth_stats.py configs/jtr/cityscapes_onelabel.py
"""
import argparse
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402

import mtlpartial  # noqa: E402,F401
from mtlpartial.registry import DATASETS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--task', default='depth', help='depth task name')
    parser.add_argument('--max-images', type=int, default=500)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mtlpartial'))
    ds_cfg = cfg.train_dataloader.dataset.copy()
    ds_cfg.pipeline = []
    ds_cfg.partial_labels = None  # every image's depth counts
    dataset = DATASETS.build(ds_cfg)
    if args.task not in dataset.task_names:
        raise KeyError(f'task "{args.task}" not in the dataset tasks '
                       f'{dataset.task_names}')
    n = min(len(dataset), args.max_images)
    total, total_sq, count = 0.0, 0.0, 0
    bar = ProgressBar(n)
    for i in np.linspace(0, len(dataset) - 1, n).astype(int):
        depth = dataset[int(i)]['gt_maps'][args.task]
        valid = depth[depth > 0].astype(np.float64)
        total += valid.sum()
        total_sq += (valid**2).sum()
        count += valid.size
        bar.update()
    if count == 0:
        raise ValueError(f'no valid "{args.task}" pixel in {n} images')
    mean = total / count
    std = np.sqrt(max(total_sq / count - mean**2, 0.0))
    print(f'\n{args.task}: mean {mean:.4f}, std {std:.4f} over {count} '
          f'valid pixels of {n} images')
    print(f"set tasks.{args.task}.stats=({mean:.4f}, {std:.4f})")


if __name__ == '__main__':
    main()
