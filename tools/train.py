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
import os.path as osp
import sys

# Make `projects.*` (custom_imports of plugins) and this checkout importable
# without a PYTHONPATH trick (PEP 660 editable installs do not expose them).
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmengine.config import Config  # noqa: E402
from mmengine.logging import print_log  # noqa: E402

import mtlpartial  # noqa: E402,F401  (compat layer, safe globals)
from mtlpartial.utils.cli import (ConfigOptionsAction,  # noqa: E402
                                  add_launcher_args, build_runner,
                                  find_resume_checkpoint, load_config,
                                  parse_args_with_launcher)
from mtlpartial.utils.dist_utils import close_distributed  # noqa: E402


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
    add_launcher_args(parser)
    return parse_args_with_launcher(parser)


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
    cfg = load_config(args.config, args.cfg_options, args.launcher,
                      args.work_dir)

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

    runner = build_runner(cfg)
    runner.train()
    close_distributed()


if __name__ == '__main__':
    main()
