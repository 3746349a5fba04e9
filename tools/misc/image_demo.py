# Copyright (c) mtlpartial contributors. All rights reserved.
"""Predict every task of a trained model on an image or a folder of images.

Writes ``OUT_DIR/vis/<name>.png`` per image: the input and each task's
prediction as titled panels, with a class legend and a depth colour bar.
``--save-arrays`` also writes the raw predictions to ``OUT_DIR/pred/``
(class-id PNGs, ``.npy`` depth / normals / probabilities), see
:class:`mtlpartial.apis.MultiTaskInferencer`.

Example:
    python tools/misc/image_demo.py demo_images/ \\
        configs/supervised/synthetic_onelabel.py \\
        work_dirs/synthetic_onelabel/epoch_12.pth --out-dir work_dirs/demo_vis
"""
import argparse
import os.path as osp
import sys
import warnings
from typing import Optional, Sequence

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from mmengine.config import Config, DictAction  # noqa: E402

import mtlpartial  # noqa: E402,F401
from mtlpartial.apis import MultiTaskInferencer  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Predict every task of a model on images')
    parser.add_argument('img', help='an image file (.png/.jpg/... or .npy) '
                        'or a folder of them')
    parser.add_argument('config', help='the config of the model')
    parser.add_argument('checkpoint', help='the checkpoint')
    parser.add_argument('--out-dir', default='demo_out',
                        help='output folder (default: demo_out)')
    parser.add_argument('--device', default='cpu',
                        help="'cpu' (default), 'cuda', 'cuda:1' ...")
    parser.add_argument('--batch-size', type=int, default=1,
                        help='images per forward (default 1)')
    parser.add_argument('--save-arrays', action='store_true',
                        help='also write the raw per-task predictions')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def show_warning(message, category, *args, **kwargs) -> None:
    """Warnings about the inputs as one line each, without source."""
    print(f'image_demo.py: warning: {message}', file=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.batch_size < 1:
        print(f'image_demo.py: error: --batch-size must be >= 1, got '
              f'{args.batch_size}', file=sys.stderr)
        return 2
    with warnings.catch_warnings():
        warnings.simplefilter('default', UserWarning)
        warnings.showwarning = show_warning
        try:
            if not osp.exists(args.img):
                raise FileNotFoundError(
                    f'image file or folder not found: {args.img}')
            if not osp.isfile(args.config):
                raise FileNotFoundError(
                    f'config file not found: {args.config}')
            cfg = Config.fromfile(args.config)
            if args.cfg_options:
                cfg.merge_from_dict(args.cfg_options)
            inferencer = MultiTaskInferencer(cfg, args.checkpoint,
                                             args.device)
            result = inferencer(args.img, batch_size=args.batch_size,
                                out_dir=args.out_dir,
                                save_arrays=args.save_arrays)
        except (FileNotFoundError, ValueError) as e:
            print(f'image_demo.py: error: {e}', file=sys.stderr)
            return 1
    print(f'{len(result["predictions"])} image(s), tasks '
          f'{", ".join(inferencer.model.tasks)}: panels in '
          f'{osp.abspath(osp.join(args.out_dir, "vis"))}')
    if args.save_arrays:
        print(f'arrays in {osp.abspath(osp.join(args.out_dir, "pred"))}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
