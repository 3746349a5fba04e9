# Copyright (c) mtlpartial contributors. All rights reserved.
"""Evaluate a checkpoint on the test set and print every metric.

Example:
    python tools/test.py CONFIG CHECKPOINT --show-dir vis --out metrics.json
"""
import argparse
import json
import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mtlpartial  # noqa: E402,F401
from mtlpartial.registry import RUNNERS  # noqa: E402
from mtlpartial.utils.dist_utils import init_cpu_distributed  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a multi-task model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs')
    parser.add_argument(
        '--out', help='write the metrics as JSON to this file')
    parser.add_argument(
        '--show-dir',
        help='write PNGs of input, ground truth and prediction of every '
        'task to this directory')
    parser.add_argument(
        '--max-show', type=int, default=1000,
        help='at most this many images with --show-dir')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    for path, what in ((args.config, 'config'), (args.checkpoint,
                                                 'checkpoint')):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} file not found: {path}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.show_dir:
        vis = cfg.default_hooks.get('visualization')
        if vis is None:
            cfg.default_hooks.visualization = dict(
                type='MultiTaskVisualizationHook')
            vis = cfg.default_hooks.visualization
        vis.draw = True
        vis.show_dir = osp.abspath(args.show_dir)
        vis.max_images = args.max_show
        vis.interval = 1

    init_cpu_distributed(args.launcher)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    metrics = runner.test()
    print('\n'.join(f'{k}: {v:.4f}' if isinstance(v, float) else f'{k}: {v}'
                    for k, v in metrics.items()))
    if args.show_dir:
        print(f'panels written to {osp.abspath(args.show_dir)}')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2)


if __name__ == '__main__':
    main()
