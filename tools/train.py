# Copyright (c) mtlpartial contributors. All rights reserved.
"""Train a multi-task model.

Examples:
    python tools/train.py configs/supervised/synthetic_onelabel.py
    python tools/train.py CONFIG --resume            # latest ckpt in work dir
    python tools/train.py CONFIG --resume PATH.pth   # a given checkpoint
    tools/dist_train.sh CONFIG 2                     # torchrun, CPU or GPU

On resume the optimizer settings and the parameter schedules follow the
config (``ResumeCheckHook``): ``--resume --cfg-options
train_cfg.max_epochs=N`` extends or shortens the schedule and
``optim_wrapper.optimizer.lr=...`` applies; the label mask must stay the
same (``SaveLabelMaskHook``) unless ``--allow-mask-change`` is given.
"""
import argparse
import logging
import os
import os.path as osp
import sys

# Make `projects.*` (custom_imports of plugins) and this checkout importable
# without a PYTHONPATH trick (PEP 660 editable installs do not expose them).
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmengine.config import Config  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mtlpartial  # noqa: E402,F401  (compat layer, safe globals)
from mtlpartial.registry import RUNNERS  # noqa: E402
from mtlpartial.utils.cli import (ConfigOptionsAction,  # noqa: E402
                                  check_top_level_keys,
                                  find_resume_checkpoint)
from mtlpartial.utils.dist_utils import init_cpu_distributed  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a multi-task model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, without a value, from '
        'the latest checkpoint in the work dir (an error if there is none). '
        'Optimizer settings and schedules follow the config')
    parser.add_argument(
        '--allow-mask-change',
        action='store_true',
        help='with --resume: continue even if the config builds another '
        'label mask than the checkpoint was trained with (logged)')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision (CUDA only)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=ConfigOptionsAction,
        help='override config settings, e.g. '
        'train_dataloader.batch_size=4 model.normalize=batch; a whole dict '
        'as key=dict(type=OneLabel,seed=1)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def allow_mask_change(cfg: Config) -> None:
    """Set ``allow_mask_change=True`` on the config's SaveLabelMaskHook."""
    hooks = [h for h in cfg.get('custom_hooks') or []
             if h.get('type') in ('SaveLabelMaskHook',
                                  'mtlpartial.SaveLabelMaskHook')]
    if not hooks:
        print_log('--allow-mask-change: the config has no SaveLabelMaskHook,'
                  ' so nothing compares label masks on resume',
                  logger='current', level=logging.WARNING)
    for hook in hooks:
        hook['allow_mask_change'] = True


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    file_keys = list(cfg.keys())
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    check_top_level_keys(cfg, file_keys, args.cfg_options)

    # work_dir priority: CLI > config > ./work_dirs/<config stem>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'MultiTaskOptimWrapper':
            cfg.optim_wrapper.type = 'MultiTaskAmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        else:
            print_log(f'--amp: {optim_wrapper} is already set; unchanged',
                      logger='current', level=logging.WARNING)

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = find_resume_checkpoint(cfg.work_dir)
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(
                f'--resume: checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume
    if args.allow_mask_change:
        allow_mask_change(cfg)

    init_cpu_distributed(args.launcher)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
