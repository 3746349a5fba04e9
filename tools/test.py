# Copyright (c) mtlpartial contributors. All rights reserved.
"""Evaluate a checkpoint on the test set and print every metric once.

The checkpoint is loaded strictly: every weight of the model must be in it
with the right shape, or the script stops with the list of mismatches.
``--non-strict`` evaluates anyway (with a warning): the layers without
matching weights keep their random initialisation.

Example:
    python tools/test.py CONFIG CHECKPOINT --show-dir vis --out metrics.json
"""
import argparse
import json
import logging
import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmengine.logging import print_log  # noqa: E402
from mmengine.model import is_model_wrapper  # noqa: E402
from mmengine.runner import Runner, load_checkpoint  # noqa: E402

import mtlpartial  # noqa: E402,F401
from mtlpartial.utils.cli import (ConfigOptionsAction,  # noqa: E402
                                  add_launcher_args, build_runner,
                                  load_config, parse_args_with_launcher)
from mtlpartial.utils.dist_utils import close_distributed  # noqa: E402


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
        '--non-strict', action='store_true',
        help='evaluate a checkpoint that does not match the model (layers '
        'without matching weights keep their random initialisation)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=ConfigOptionsAction,
        help='override config settings')
    add_launcher_args(parser)
    return parse_args_with_launcher(parser)


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.launcher,
                      args.work_dir)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(
            f'checkpoint file not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    cfg.resume = False  # a test loads weights; it never resumes training
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

    runner = build_runner(cfg)
    load_weights(runner, args.checkpoint, strict=not args.non_strict)
    # runner.test() loads cfg.load_from once more, after the hooks' before_run
    # (mmengine's order: a hook such as EMAHook builds its state there and
    # reads the checkpoint in after_load_checkpoint)
    metrics = runner.test()  # the metric logs them (once, with tables)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2)
        print_log(f'metrics written to {args.out}', logger='current')
    if args.show_dir:
        pngs = [f for f in os.listdir(args.show_dir) if f.endswith('.png')] \
            if osp.isdir(args.show_dir) else []
        print_log(f'{len(pngs)} visualisation(s) written to '
                  f'{osp.abspath(args.show_dir)}', logger='current')
    close_distributed()


def load_weights(runner: Runner, checkpoint: str, strict: bool) -> None:
    """Load the model weights of ``checkpoint`` before the test loop.

    The weights go straight into the model, without the runner's
    ``after_load_checkpoint`` hooks: those run when ``runner.test()`` loads
    ``cfg.load_from`` after ``before_run`` (calling them here, before
    ``before_run``, broke hooks that build their state there, e.g.
    mmengine's ``EMAHook``).

    Raises:
        RuntimeError: with ``strict``, when the checkpoint does not match
            the model (names the checkpoint and lists the mismatches).
    """
    if not strict:
        print_log(
            f'--non-strict: weights of {checkpoint} that do not match the '
            'model are skipped; those layers keep their random '
            'initialisation and the metrics describe a partly untrained '
            'model', logger='current', level=logging.WARNING)
    try:
        load_checkpoint(runner.model.module if is_model_wrapper(runner.model)
                        else runner.model, checkpoint, map_location='cpu',
                        strict=strict, logger='current')
    except RuntimeError as e:
        if 'do not match exactly' not in str(e):
            raise
        raise RuntimeError(
            f'checkpoint {checkpoint} does not match the model of the config'
            f' (loaded strictly): {e}\nCheck the config and the checkpoint, '
            'or pass --non-strict to evaluate anyway (mismatched layers keep'
            ' their random initialisation)') from None


if __name__ == '__main__':
    main()
