# Copyright (c) mtlpartial contributors. All rights reserved.
"""What a trained MTPSL joint space says about the image.

The training log's ``mtpsl.cos_gap`` (same-image minus cross-image cosine
of ``z_s = M_st(ŷ_s)`` and ``z_t = M_st(y_t)``) tells *that* the joint
space does not tell images apart; this probe tells *why*, from a
checkpoint. It runs ``--batches`` training batches of the config (train
mode, as the training step runs, no gradient, no update), collects the
joint-space embeddings of every (image, unlabelled s, labelled t) item and
the shared feature ``f`` that the feature regularisation pulls them to,
and prints :func:`mtlpartial.models.diagnostics.embedding_alignment` of
``(z_s, z_t)``, ``(z_s, f)``, ``(z_t, f)`` and ``(f, f)``, grouped by task
pair:

* ``spread`` near 0: the mapping outputs (nearly) one vector for every
  input, so the consistency loss pulls every prediction alike;
* ``centred_same`` near ``centred_cross``: what varies across images is
  not shared by the two tasks' embeddings of an image (nor by ``f``), so
  the consistency loss carries no information about the image.

Regularizers with a joint space built by ``embed(ctx, items)`` (MTPSL) are
supported; others get a clear error.

Examples:
    python tools/analysis_tools/joint_space_probe.py \\
        configs/mtpsl/synthetic_onelabel_stable.py \\
        work_dirs/mtpsl/epoch_217.pth --batches 8
"""
import argparse
import json
import os.path as osp
import sys
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor, nn  # noqa: E402


@contextmanager
def recording_embeddings(regularizer: nn.Module,
                         records: List[Dict[str, Tensor]]) -> Iterator[None]:
    """Within the block, every ``regularizer.embed(ctx, items)`` call also
    appends its ``z_s``, ``z_t``, task-pair ids and the view-1 shared
    feature of each item to ``records`` (the regularizer's own result is
    returned unchanged)."""
    embed = getattr(regularizer, 'embed', None)
    if embed is None or not callable(embed):
        raise TypeError(
            f'joint_space_probe: regularizer {type(regularizer).__name__} '
            'has no embed(ctx, items) joint space; supported: MTPSL')

    from mtlpartial.models.regularizers.mtpsl import pair_codes

    def recorded(ctx, items):
        z_s, z_t = embed(ctx, items)
        records.append(dict(
            z_s=z_s.detach(), z_t=z_t.detach(),
            pair=pair_codes(items[:, 1], items[:, 2], len(ctx.tasks)),
            feat=ctx.feats[1].detach()[items[:, 0]]))
        return z_s, z_t

    regularizer.embed = recorded  # instance attribute shadows the method
    try:
        yield
    finally:
        del regularizer.embed


def probe(model: nn.Module, batches: Sequence, regularizer: str = None
          ) -> Dict[str, Dict[str, float]]:
    """Embedding alignment of a model's joint space on training batches.

    Args:
        model: a ``MultiTaskModel`` with the regularizer.
        batches: dataloader batches (as ``train_step`` receives them).
        regularizer: its name (``reg.name``); None: the first one.

    Returns:
        dict: ``{'z_s~z_t': ..., 'z_s~f': ..., 'z_t~f': ..., 'f~f': ...}``,
        each :func:`embedding_alignment`'s dict, plus ``items`` (count).
    """
    from mtlpartial.models.diagnostics import embedding_alignment
    regs = {r.name: r for r in model.regularizers}
    if not regs:
        raise ValueError('joint_space_probe: the model has no regularizer')
    if regularizer is None:
        regularizer = next(iter(regs))
    if regularizer not in regs:
        raise KeyError(f'joint_space_probe: no regularizer {regularizer!r}; '
                       f'the model has {sorted(regs)}')
    records: List[Dict[str, Tensor]] = []
    model.train()  # the training step's normalisation statistics
    with torch.no_grad(), recording_embeddings(regs[regularizer], records):
        for data in batches:
            data = model.data_preprocessor(data, True)
            model._run_forward(data, mode='loss')
    if not records:
        raise ValueError(
            'joint_space_probe: no (unlabelled, labelled) task pair in the '
            'batches: every image is fully labelled or fully unlabelled')
    z_s, z_t, pair, feat = (torch.cat([r[k] for r in records])
                            for k in ('z_s', 'z_t', 'pair', 'feat'))
    if feat.shape[-2:] != z_s.shape[-2:]:  # as MTPSL.match compares them
        feat = F.adaptive_avg_pool2d(feat, z_s.shape[-2:])
    # MTPSL itself refuses a mapping whose channels differ from f's
    return {
        'z_s~z_t': embedding_alignment(z_s, z_t, pair),
        'z_s~f': embedding_alignment(z_s, feat, pair),
        'z_t~f': embedding_alignment(z_t, feat, pair),
        'f~f': embedding_alignment(feat, feat, pair),
        'items': int(z_s.shape[0]),
    }


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Raw and centred same/cross-image similarity of a '
        'trained MTPSL joint space on training batches')
    parser.add_argument('config')
    parser.add_argument('checkpoint',
                        help="a checkpoint, or 'none' for random initial "
                        'weights (warned)')
    parser.add_argument('--batches', type=int, default=8,
                        help='training batches to embed (default 8)')
    parser.add_argument('--regularizer', default=None,
                        help='its name; default: the first')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the dataloader draws (default 0)')
    parser.add_argument('--out', default=None, help='write the JSON here')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.batches < 1:
        raise ValueError(f'--batches must be >= 1, got {args.batches}')
    from mmengine.runner import Runner

    from mtlpartial.apis import init_model
    ckpt = None if args.checkpoint.lower() == 'none' else args.checkpoint
    model = init_model(args.config, ckpt)
    loader_cfg = dict(model.cfg.train_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=args.seed)
    batches = []
    for data in loader:
        batches.append(data)
        if len(batches) == args.batches:
            break
    result = probe(model, batches, args.regularizer)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write(text + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
