# Copyright (c) mtlpartial contributors. All rights reserved.
"""What a trained joint space (MTPSL, JTR) says about the image.

The training log's ``<reg>.cos_gap`` (same-image minus cross-image cosine
of the two embeddings the regularizer compares) tells *that* the joint
space does not tell images apart; this probe tells *why*, from a
checkpoint. It runs ``--batches`` training batches of the config (train
mode, as the training step runs, no gradient, no update), records the
embeddings the regularizer computes and prints
:func:`mtlpartial.models.diagnostics.embedding_alignment` of pairs of
them:

* MTPSL: ``z_s = M_st(ŷ_s)``, ``z_t = M_st(y_t)`` of every (image,
  unlabelled s, labelled t) item and the shared feature ``f`` that the
  feature regularisation pulls them to, grouped by task pair:
  ``(z_s, z_t)``, ``(z_s, f)``, ``(z_t, f)``, ``(f, f)``;
* JTR: the view-1 auto-encoder inputs ``Y`` (labels where labelled) and
  ``Ŷ`` (predictions) and their latents ``z_y``, ``z_hat``:
  ``(y, y_hat)`` (what the inputs share), ``(z_y, z_hat)`` (what ``d1``
  compares) and ``(z_y, z_y)``.

Reading it:

* ``spread`` near 0: the network outputs (nearly) one vector for every
  input, so the consistency loss pulls every prediction alike;
* ``centred_same`` near ``centred_cross``: what varies across images is
  not shared by the two embeddings of an image, so the consistency loss
  carries no information about the image.

Other regularizers get a clear error.

Examples:
    python tools/analysis_tools/joint_space_probe.py \\
        configs/mtpsl/synthetic_onelabel_stable.py \\
        work_dirs/mtpsl/epoch_217.pth --batches 8
    python tools/analysis_tools/joint_space_probe.py \\
        configs/jtr/synthetic_onelabel_stable.py \\
        work_dirs/jtr/epoch_217.pth --batches 8
"""
import argparse
import copy
import json
import os.path as osp
import sys
from contextlib import contextmanager
from typing import (Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor, nn  # noqa: E402


def _record_mtpsl(regularizer: nn.Module, records: List[Dict[str, Tensor]]
                  ) -> Tuple[str, Callable]:
    """MTPSL: ``z_s``, ``z_t``, task-pair ids and the view-1 shared feature
    of every item that ``embed(ctx, items)`` embeds."""
    from mtlpartial.models.regularizers.mtpsl import pair_codes
    embed = regularizer.embed

    def recorded(ctx, items):
        z_s, z_t = embed(ctx, items)
        records.append(dict(
            z_s=z_s.detach(), z_t=z_t.detach(),
            pair=pair_codes(items[:, 1], items[:, 2], len(ctx.tasks)),
            f=ctx.feats[1].detach()[items[:, 0]]))
        return z_s, z_t

    return 'embed', recorded


def _record_jtr(regularizer: nn.Module, records: List[Dict[str, Tensor]]
                ) -> Tuple[str, Callable]:
    """JTR: the view-1 inputs ``Y`` (labels where labelled, samples
    elsewhere) and ``Ŷ`` (samples of the predictions) and their latents,
    as ``frozen_latent(cat([Y, Ŷ]))`` sees them."""
    frozen_latent = regularizer.frozen_latent

    def recorded(x):
        z = frozen_latent(x)
        b = x.shape[0] // 2
        records.append(dict(y=x[:b].detach(), y_hat=x[b:].detach(),
                            z_y=z[:b].detach(), z_hat=z[b:].detach()))
        return z

    return 'frozen_latent', recorded


# regularizer type -> how its joint space is recorded, and which pairs of
# recorded embeddings are compared (grouped by ``pair`` when recorded)
RECORDERS = {'MTPSL': _record_mtpsl, 'JTR': _record_jtr}
COMPARISONS = {
    'MTPSL': (('z_s', 'z_t'), ('z_s', 'f'), ('z_t', 'f'), ('f', 'f')),
    'JTR': (('y', 'y_hat'), ('z_y', 'z_hat'), ('z_y', 'z_y')),
}


def find_regularizer(model: nn.Module, name: Optional[str],
                     tool: str) -> nn.Module:
    """The model's regularizer called ``name`` (None: the first one); a
    clear error, prefixed by ``tool``, if there is none."""
    regs = {r.name: r for r in model.regularizers}
    if not regs:
        raise ValueError(f'{tool}: the model has no regularizer')
    if name is None:
        name = next(iter(regs))
    if name not in regs:
        raise KeyError(f'{tool}: no regularizer {name!r}; the model has '
                       f'{sorted(regs)}')
    return regs[name]


def training_batches(loader_cfg: dict, count: int, seed: int) -> List:
    """The first ``count`` batches of a training dataloader config, in the
    main process (``num_workers=0``), drawn from ``seed``: the sampler's
    shuffle and the global random state of the transforms, so that two
    calls with the same seed draw the same images, crops and flips. More
    batches than an epoch holds go on into the next epochs (reshuffled,
    new augmentations)."""
    from mmengine.runner import Runner, set_random_seed
    cfg = copy.deepcopy(dict(loader_cfg))
    cfg.update(num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(cfg, seed=seed)
    if len(loader) == 0:
        raise ValueError('the training dataloader yields no batch')
    set_random_seed(seed)
    batches: List = []
    epoch = 0
    while len(batches) < count:
        if hasattr(loader.sampler, 'set_epoch'):
            loader.sampler.set_epoch(epoch)
        for data in loader:
            batches.append(data)
            if len(batches) == count:
                break
        epoch += 1
    return batches


def probe_parser(description: str, batches: int) -> argparse.ArgumentParser:
    """The arguments the checkpoint probes share: config, checkpoint (or
    'none'), --batches, --regularizer, --seed, --out."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config')
    parser.add_argument('checkpoint',
                        help="a checkpoint, or 'none' for random initial "
                        'weights (warned)')
    parser.add_argument('--batches', type=int, default=batches,
                        help=f'training batches (default {batches})')
    parser.add_argument('--regularizer', default=None,
                        help='its name; default: the first')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the dataloader draws (default 0)')
    parser.add_argument('--out', default=None, help='write the JSON here')
    return parser


def load_probed_model(args: argparse.Namespace) -> nn.Module:
    """The model of ``args.config`` with ``args.checkpoint`` (strict) or,
    for 'none', its initial weights drawn from ``args.seed``; checks
    ``args.batches``."""
    if args.batches < 1:
        raise ValueError(f'--batches must be >= 1, got {args.batches}')
    from mtlpartial.apis import init_model
    ckpt = None if args.checkpoint.lower() == 'none' else args.checkpoint
    if ckpt is None:  # reproducible initial weights
        torch.manual_seed(args.seed)
    return init_model(args.config, ckpt)


def write_json(result: dict, out: Optional[str]) -> None:
    """Print ``result`` as JSON, and write it to ``out`` if given."""
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        with open(out, 'w', encoding='utf-8') as f:
            f.write(text + '\n')


@contextmanager
def recording_joint_space(regularizer: nn.Module,
                          records: List[Dict[str, Tensor]]
                          ) -> Iterator[None]:
    """Within the block, every joint-space embedding the regularizer
    computes is also appended to ``records`` (its own result is returned
    unchanged; the method is restored on exit)."""
    kind = type(regularizer).__name__
    if kind not in RECORDERS:
        raise TypeError(
            f'joint_space_probe: regularizer {kind} has no joint space '
            f'the probe can record; supported: {sorted(RECORDERS)}')
    method, recorded = RECORDERS[kind](regularizer, records)
    setattr(regularizer, method, recorded)  # instance attr shadows method
    try:
        yield
    finally:
        delattr(regularizer, method)


def probe(model: nn.Module, batches: Sequence, regularizer: str = None
          ) -> Dict[str, Dict[str, float]]:
    """Embedding alignment of a model's joint space on training batches.

    Args:
        model: a ``MultiTaskModel`` with the regularizer.
        batches: dataloader batches (as ``train_step`` receives them).
        regularizer: its name (``reg.name``); None: the first one.

    Returns:
        dict: per compared pair (MTPSL: ``'z_s~z_t'``, ``'z_s~f'``,
        ``'z_t~f'``, ``'f~f'``; JTR: ``'y~y_hat'``, ``'z_y~z_hat'``,
        ``'z_y~z_y'``) :func:`embedding_alignment`'s dict, plus ``items``
        (count).
    """
    from mtlpartial.models.diagnostics import embedding_alignment
    reg = find_regularizer(model, regularizer, 'joint_space_probe')
    records: List[Dict[str, Tensor]] = []
    model.train()  # the training step's normalisation statistics
    with torch.no_grad(), recording_joint_space(reg, records):
        for data in batches:
            data = model.data_preprocessor(data, True)
            model._run_forward(data, mode='loss')
    if not records:
        raise ValueError(
            'joint_space_probe: no (unlabelled, labelled) task pair in the '
            'batches: every image is fully labelled or fully unlabelled')
    rec = {k: torch.cat([r[k] for r in records]) for k in records[0]}
    pair = rec.pop('pair', None)
    out: Dict[str, Dict[str, float]] = {}
    for a, b in COMPARISONS[type(reg).__name__]:
        x, y = rec[a], rec[b]
        # compared at the coarser size, as MTPSL.match compares z and f
        size = min(x.shape[-2:], y.shape[-2:], key=lambda s: s[0] * s[1])
        x, y = (F.adaptive_avg_pool2d(t, size) if t.shape[-2:] != size
                else t for t in (x, y))
        out[f'{a}~{b}'] = embedding_alignment(x, y, pair)
    out['items'] = int(next(iter(rec.values())).shape[0])
    return out


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    return probe_parser(
        'Raw and centred same/cross-image similarity of a trained MTPSL or '
        'JTR joint space on training batches', batches=8).parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    model = load_probed_model(args)
    batches = training_batches(model.cfg.train_dataloader, args.batches,
                               args.seed)
    write_json(probe(model, batches, args.regularizer), args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
