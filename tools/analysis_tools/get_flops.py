# Copyright (c) mtlpartial contributors. All rights reserved.
"""Parameters and FLOPs of the parts of a multi-task model.

Counting: :class:`torch.utils.flop_counter.FlopCounterMode` (PyTorch's
own counter, per module via its module tracker). It counts convolutions,
transposed convolutions and matrix products at **2 FLOPs per
multiply-accumulate**; element-wise ops, normalisation, activations,
pooling, interpolation and ``grid_sample`` are not counted. (mmengine's
``get_model_complexity_info`` / fvcore report MACs as "flops": half these
numbers.)

* shared part (backbone + neck) and each head: one image of ``--shape``
  in inference mode (``model.extract_feat``, then each head on the shared
  features);
* each regularizer: the forward pass of its training term inside
  ``model.loss`` on a synthetic batch of ``--batch-size`` images of
  ``--shape`` (random ground truth, the onelabel pattern: image ``i`` is
  labelled for task ``i mod K`` only, with the views the regularizers
  need). This is the extra cost per training batch; it includes work the
  regularizer triggers itself (mapping networks, copies of heads,
  double-backward of DGR), not the backward pass of the loss.

Examples:
    python tools/analysis_tools/get_flops.py \\
        configs/supervised/synthetic_onelabel.py --shape 64 80
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
from torch import nn  # noqa: E402


def human(n: float) -> str:
    """``1234567 -> '1.23M'``."""
    for unit, size in (('T', 1e12), ('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(n) >= size:
            return f'{n / size:.2f}{unit}'
    return f'{n:.0f}'


def num_params(module: Optional[nn.Module]) -> int:
    return 0 if module is None else sum(
        p.numel() for p in module.parameters())


def build_model(config: str, cfg_options: Optional[dict] = None):
    """Build ``cfg.model`` (default scope of the config), no weights."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mtlpartial.registry import MODELS
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise KeyError(f'{config}: no `model`')
    init_default_scope(cfg.get('default_scope', 'mtlpartial'))
    return MODELS.build(cfg.model)


def synthetic_batch(model, batch_size: int, shape: Tuple[int, int],
                    seed: int = 0) -> dict:
    """A collated onelabel batch as the dataloader would yield it; view 0
    is the image, further views are centred 80% crops."""
    from mtlpartial.testing import fake_packed_batch, label_pattern
    views = model.num_views
    boxes = torch.tensor([[0., 0., 1., 1.]] + [[.1, .1, .9, .9]] *
                         (views - 1))
    return fake_packed_batch(
        model.tasks, label_pattern(model.task_names, batch_size), views,
        shape, torch.Generator().manual_seed(seed), view_boxes=boxes)


def module_flops(counts: Dict[str, Dict], name: str) -> int:
    """Total FLOPs attributed to module ``name`` by FlopCounterMode."""
    return int(sum(counts.get(name, {}).values()))


def complexity(model, shape: Tuple[int, int], batch_size: int = 2
               ) -> List[Tuple[str, int, Optional[int], str]]:
    """Rows ``(part, params, flops, what the FLOPs are of)``.

    The shape is padded as the model's data preprocessor pads it
    (``size_divisor``): the FLOPs are those of what actually runs.
    """
    from mmengine.utils import ProgressBar
    from torch.utils.flop_counter import FlopCounterMode
    pad_h, pad_w = model.data_preprocessor.padding(*shape) \
        if hasattr(model.data_preprocessor, 'padding') else (0, 0)
    h, w = shape[0] + pad_h, shape[1] + pad_w
    rows = []
    model.eval()
    x = torch.zeros(1, 3, h, w)
    jobs = 1 + len(model.heads) + (1 if len(model.regularizers) else 0)
    progress = ProgressBar(jobs)
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            feats = model.extract_feat(x)
        progress.update()
        shared = num_params(model.backbone) + num_params(model.neck)
        rows.append(('shared (backbone + neck)', shared,
                     counter.get_total_flops(), f'1 image {h}x{w}'))
        for task, head in model.heads.items():
            with FlopCounterMode(display=False) as counter:
                head(feats)
            rows.append((f'head: {task} ({type(head).__name__})',
                         num_params(head), counter.get_total_flops(),
                         f'1 image {h}x{w}'))
            progress.update()
    if len(model.regularizers):
        model.train()
        data = model.data_preprocessor(
            synthetic_batch(model, batch_size, shape), True)
        with FlopCounterMode(display=False) as counter:
            model(**data, mode='loss')
        counts = counter.get_flop_counts()
        root = type(model).__name__
        for i, reg in enumerate(model.regularizers):
            flops = module_flops(counts, f'{root}.regularizers.{i}')
            rows.append((f'regularizer: {reg.name} ({type(reg).__name__})',
                         num_params(reg), flops,
                         f'train batch {batch_size}x{model.num_views} '
                         f'views {h}x{w}'))
        progress.update()
    sys.stdout.write('\n')
    return rows


def format_table(rows, shape) -> str:
    lines = [
        '| part | params | FLOPs | FLOPs of |', '|---|---:|---:|---|'
    ]
    for part, params, flops, what in rows:
        lines.append(f'| {part} | {human(params)} | {human(flops)} | '
                     f'{what} |')
    inference = [r for r in rows if not r[0].startswith('regularizer')]
    lines.append(f'| **model (inference)** | '
                 f'{human(sum(r[1] for r in inference))} | '
                 f'{human(sum(r[2] for r in inference))} | '
                 f'1 image {shape[0]}x{shape[1]} |')
    regs = [r for r in rows if r[0].startswith('regularizer')]
    if regs:
        lines.append(f'| **regularizers (training only)** | '
                     f'{human(sum(r[1] for r in regs))} | '
                     f'{human(sum(r[2] for r in regs))} | {regs[0][3]} |')
    return '\n'.join(lines) + '\n'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Parameters and FLOPs (FlopCounterMode, 2 per MAC) of '
        'the shared part, heads and regularizers of a model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs='+', default=[288, 384],
                        help='input size: H W, or one number for H = W '
                        '(default 288 384)')
    parser.add_argument('--batch-size', type=int, default=2,
                        help='batch used to measure regularizers (default 2)')
    parser.add_argument('--out', help='also write the markdown table here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if len(args.shape) == 1:
        shape = (args.shape[0], args.shape[0])
    elif len(args.shape) == 2:
        shape = tuple(args.shape)
    else:
        raise ValueError(f'--shape takes H W or one size, got {args.shape}')
    if min(shape) < 1 or args.batch_size < 1:
        raise ValueError('--shape and --batch-size must be positive')
    model = build_model(args.config, args.cfg_options)
    rows = complexity(model, shape, args.batch_size)
    table = format_table(rows, shape)
    print(table)
    print('FLOPs: torch.utils.flop_counter.FlopCounterMode, conv/matmul at '
          '2 FLOPs per multiply-accumulate; element-wise ops not counted.')
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
