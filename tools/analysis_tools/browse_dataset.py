# Copyright (c) mtlpartial contributors. All rights reserved.
"""Show a grid of dataset images with the labels they have.

One row per image: the image, then one cell per task. A task labelled for
the image under the partial-label mask shows its colourised ground truth
(:func:`mtlpartial.visualization.colorize`); an unlabelled one is a grey
cell marked "unlabelled" (its ground truth is never loaded). The mask is
the config's ``partial_labels`` setting, or a mask file (``--mask``, e.g.
the ``label_mask.npz`` of a work dir) read with the ``MaskFile`` setting.

By default the raw samples are shown (no augmentation); ``--pipeline``
runs the config's pipeline and shows view 0 of the packed sample.

Examples:
    python tools/analysis_tools/browse_dataset.py \\
        configs/supervised/synthetic_onelabel.py --num 8 --out grid.png
    python tools/analysis_tools/browse_dataset.py WORK_DIR/CONFIG.py \\
        --mask WORK_DIR/label_mask.npz --out grid.png
"""
import argparse
import copy
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402

SPLITS = ('train', 'val', 'test')


def build_dataset(config: str, split: str = 'train',
                  mask: Optional[str] = None,
                  cfg_options: Optional[dict] = None):
    """Build the dataset of ``<split>_dataloader`` of ``config``.

    Raises:
        KeyError: if the config has no such dataloader.
        ValueError: if ``mask`` is given for an evaluation (test-mode)
            dataset, which is always fully labelled.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mtlpartial.registry import DATASETS
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    key = f'{split}_dataloader'
    if key not in cfg or 'dataset' not in cfg[key]:
        raise KeyError(f'{config}: no {key}.dataset')
    init_default_scope(cfg.get('default_scope', 'mtlpartial'))
    dataset_cfg = copy.deepcopy(cfg[key].dataset)
    if mask is not None:
        if dataset_cfg.get('test_mode', False):
            raise ValueError(f'--mask: the {split} dataset is in test mode '
                             '(fully labelled); masks apply to --split train')
        if not osp.isfile(mask):
            raise FileNotFoundError(f'--mask: file not found: {mask}')
        dataset_cfg['partial_labels'] = dict(
            type='MaskFile', file=osp.abspath(mask))
    dataset = DATASETS.build(dataset_cfg)
    while not hasattr(dataset, 'label_mask') and hasattr(dataset, 'dataset'):
        dataset = dataset.dataset
    if not hasattr(dataset, 'label_mask') or \
            not hasattr(dataset, 'task_specs'):
        raise TypeError(f'{config}: {key}.dataset is not an mtlpartial '
                        f'multi-task dataset ({type(dataset).__name__})')
    return dataset


def load_item(dataset, index: int, pipeline: bool
              ) -> Tuple[np.ndarray, Dict[str, np.ndarray], str]:
    """Image ``(H, W, 3)`` in [0, 1], ``{task: (C, H, W)}`` of the labelled
    tasks, and the image id."""
    info = dataset.get_data_info(index)
    if not pipeline:
        results = dataset.load_sample(info)
        gts = {t: np.transpose(np.asarray(g), (2, 0, 1))
               for t, g in results['gt_maps'].items()}
        return np.asarray(results['img']), gts, str(info['image_id'])
    packed = dataset[index]
    img = packed['inputs'][0].permute(1, 2, 0).numpy()
    sample = packed['data_samples']
    gts = {t: sample.get_gt(t)[0].numpy()
           for t in sample.get_labelled_tasks()}
    return img, gts, str(info['image_id'])


def browse(dataset,
           out: str,
           num: int = 16,
           seed: Optional[int] = None,
           pipeline: bool = False) -> List[int]:
    """Draw the grid of ``num`` images of ``dataset`` to ``out``.

    Args:
        dataset: a built :class:`MultiTaskDataset`.
        out: the PNG to write.
        num: number of images (rows).
        seed: pick random images with this seed (default: the first).
        pipeline: show the pipeline output instead of the raw sample.

    Returns:
        list[int]: the dataset indices shown.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from mmengine.utils import ProgressBar

    from mtlpartial.visualization import colorize
    n = len(dataset)
    if n == 0:
        raise ValueError('the dataset is empty')
    num = min(int(num), n)
    if num < 1:
        raise ValueError(f'--num must be >= 1, got {num}')
    indices = list(range(num)) if seed is None else sorted(
        np.random.default_rng(seed).choice(n, num, replace=False).tolist())
    tasks = dataset.task_specs
    names = list(tasks)
    items = []
    progress = ProgressBar(num)
    for i in indices:
        items.append(load_item(dataset, i, pipeline))
        progress.update()
    sys.stdout.write('\n')
    depth_range = {}
    for t in names:
        if tasks[t].kind == 'depth':
            vals = [g[g > 0] for _, gts, _ in items if t in gts
                    for g in [gts[t]]]
            vals = np.concatenate([v.ravel() for v in vals]) if vals \
                else np.zeros(0)
            if vals.size:
                depth_range[t] = (float(vals.min()), float(vals.max()))
    mask = dataset.label_mask
    h, w = items[0][0].shape[:2]
    cell = 2.2
    fig, axes = plt.subplots(
        num, 1 + len(names),
        figsize=(cell * (1 + len(names)), cell * h / w * num + 0.6),
        squeeze=False)
    for k, t in enumerate(['image'] + names):
        label = t if k == 0 else \
            f'{t} ({int(mask[:, k - 1].sum())}/{len(mask)} labelled)'
        axes[0, k].set_title(label, fontsize=8)
    for row, (i, (img, gts, image_id)) in enumerate(zip(indices, items)):
        axes[row, 0].imshow(np.clip(img, 0, 1))
        axes[row, 0].set_ylabel(f'#{i} id {image_id}', fontsize=7)
        for k, t in enumerate(names, 1):
            ax = axes[row, k]
            if t in gts:
                ax.imshow(colorize(tasks[t], gts[t], depth_range.get(t)))
            else:
                ax.imshow(np.full(img.shape[:2], 0.8), cmap='gray',
                          vmin=0, vmax=1)
                ax.text(0.5, 0.5, 'unlabelled', ha='center', va='center',
                        fontsize=7, color='0.35', transform=ax.transAxes)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return indices


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Grid of dataset images and the labels they have under '
        'the partial-label mask')
    parser.add_argument('config', help='config file')
    parser.add_argument('--split', choices=SPLITS, default='train',
                        help='which dataloader (default: train)')
    parser.add_argument('--num', type=int, default=16,
                        help='number of images (default 16)')
    parser.add_argument('--seed', type=int,
                        help='random images with this seed (default: the '
                        'first --num images)')
    parser.add_argument('--mask', help='label-mask file (e.g. the '
                        'label_mask.npz of a work dir)')
    parser.add_argument('--pipeline', action='store_true',
                        help='show the augmented, packed samples')
    parser.add_argument('--out', default='dataset_grid.png',
                        help='output PNG')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    dataset = build_dataset(args.config, args.split, args.mask,
                            args.cfg_options)
    indices = browse(dataset, args.out, args.num, args.seed, args.pipeline)
    mask = dataset.label_mask
    counts = ', '.join(f'{t}: {int(c)}' for t, c in zip(
        dataset.task_names, mask.sum(0)))
    print(f'{len(dataset)} images, labelled per task: {counts}')
    print(f'{len(indices)} images written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
