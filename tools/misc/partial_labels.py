# Copyright (c) mtlpartial contributors. All rights reserved.
"""Make a partial-label mask file, or summarise one.

Examples:
    python tools/misc/partial_labels.py make onelabel \\
        --tasks semseg depth normal --num-images 795 --seed 0 \\
        --out work_dirs/masks/nyu_onelabel_seed0.npz
    python tools/misc/partial_labels.py make Ratio --ratio semseg=0.9 \\
        --ratio depth=0.1 --tasks semseg depth --num-images 2975 --out m.json
    python tools/misc/partial_labels.py make \\
        "dict(type='HalfLabels', seed=3)" --tasks a b c d \\
        --num-images 100 --out half.npz
    python tools/misc/partial_labels.py summary \\
        ../shared/data/mtpsl_label_masks/nyuv2_randomlabels.pth
"""
import argparse
import ast
import json
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def _api():
    """Import mtlpartial lazily (torch/mmcv), so ``--help`` is instant."""
    from mtlpartial.datasets import partial_labels
    return partial_labels


def parse_setting(text: str, seed, ratios):
    """A setting config from the command line (alias, name or dict)."""
    text = text.strip()
    if text.startswith('dict(') or text.startswith('{'):
        node = ast.parse(text, mode='eval').body
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == 'dict' and not node.args:
            cfg = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
        else:
            cfg = ast.literal_eval(node)
        if not isinstance(cfg, dict):
            raise SystemExit(f'setting {text!r} is not a dict')
    else:
        cfg = dict(type=text)
    if seed is not None:
        cfg['seed'] = seed
    if ratios:
        cfg['ratios'] = ratios
    return cfg


def parse_ratios(items):
    ratios = {}
    for item in items or ():
        task, sep, value = item.partition('=')
        if not sep:
            raise SystemExit(f'--ratio expects TASK=FRACTION, got {item!r}')
        ratios[task] = float(value)
    return ratios


def cmd_make(args) -> None:
    api = _api()
    cfg = parse_setting(args.setting, args.seed, parse_ratios(args.ratio))
    setting = api.build_partial_labels(cfg)
    image_ids = None
    if args.image_ids:
        with open(args.image_ids, encoding='utf-8') as f:
            image_ids = [line.strip() for line in f if line.strip()]
    num_images = args.num_images
    if num_images is None:
        if image_ids is None:
            raise SystemExit('give --num-images or --image-ids')
        num_images = len(image_ids)
    mask = setting.make_mask(args.tasks, num_images, image_ids)
    api.save_mask(
        args.out,
        mask,
        args.tasks,
        image_ids=image_ids,
        meta=dict(setting=repr(setting), config=cfg))
    print(
        api.format_summary(
            api.mask_summary(mask, args.tasks), f'{setting!r}'))
    print(f'saved to {args.out}')


def cmd_summary(args) -> None:
    api = _api()
    record = api.load_mask(args.file, args.task_order)
    summary = api.mask_summary(record.mask, record.task_names)
    if args.json:
        summary['file'] = args.file
        summary['labels_per_image'] = {
            str(k): v
            for k, v in summary['labels_per_image'].items()
        }
        print(json.dumps(summary, indent=2))
    else:
        print(api.format_summary(summary, args.file))
        if record.meta:
            print(f'meta: {json.dumps(record.meta, sort_keys=True)}')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Make or summarise partial-label mask files')
    sub = parser.add_subparsers(dest='command', required=True)
    make = sub.add_parser(
        'make', help='generate a mask from a setting and write it')
    make.add_argument(
        'setting',
        help="alias (onelabel, randomlabels, halflabels, full), registered "
        "class name (OneLabel, Ratio, ...) or a dict, e.g. "
        "\"dict(type='Ratio', ratios=dict(semseg=0.9, depth=0.1))\"")
    make.add_argument('--tasks', nargs='+', required=True,
                      help='task names, in the dataset order')
    make.add_argument('--num-images', type=int, help='number of images')
    make.add_argument('--image-ids',
                      help='text file with one image id per line')
    make.add_argument('--seed', type=int, help='seed of the setting')
    make.add_argument('--ratio', action='append',
                      help='TASK=FRACTION for the Ratio setting (repeat)')
    make.add_argument('--out', required=True, help='output .npz or .json')
    make.set_defaults(func=cmd_make)
    summ = sub.add_parser(
        'summary',
        help='counts of a mask file (.npz/.json/.pth/.npy)')
    summ.add_argument('file')
    summ.add_argument('--task-order', nargs='+',
                      help='column names of an unnamed .pth/.npy matrix')
    summ.add_argument('--json', action='store_true',
                      help='print the summary as JSON')
    summ.set_defaults(func=cmd_summary)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    args.func(args)


if __name__ == '__main__':
    main()
