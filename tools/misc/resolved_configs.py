# Copyright (c) mtlpartial contributors. All rights reserved.
"""Dump the resolved configs of the tree, and compare two dumps.

A config restructuring (new ``_base_`` files, siblings inheriting each
other, renamed files with short-name aliases) must not change what a run
gets. ``dump`` writes, for every config under ``configs/`` (and
``projects/*/configs/``), ``Config.fromfile(path).to_dict()`` in a
canonical form (keys sorted, tuples kept apart from lists), once as read
and once after a fixed set of ``--cfg-options`` (the overrides of
docs/configs.md, to check that they still reach the same keys).
``compare`` reports, for every config of the first dump, the keys read by
the runner that differ in the second one, and separately the helper
variables (``tasks``, pipelines, label settings ...) that differ::

    python tools/misc/resolved_configs.py dump before.json --rev main
    python tools/misc/resolved_configs.py dump after.json
    python tools/misc/resolved_configs.py compare before.json after.json \\
        --allow val_evaluator.tasks test_evaluator.tasks

``--allow`` names dotted keys whose removal is intended. The exit status is
1 when a runner key differs (or a config of the first dump is missing).
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import tarfile
import tempfile
from typing import Any, Dict, Iterable, List, Optional

#: the overrides applied in the second dump of every config
OPTIONS = {
    'train_cfg.max_epochs': 1,
    'train_dataloader.batch_size': 4,
    'train_dataloader.num_workers': 0,
    'train_dataloader.dataset.partial_labels.seed': 3,
    'optim_wrapper.optimizer.lr': 1e-3,
    'model.tasks.0.loss_weight': 2.0,
    'val_evaluator.baseline': None,
}


def canonical(value: Any) -> Any:
    """JSON-ready, order-free form; tuples stay distinct from lists."""
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in sorted(
            value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, tuple):
        return {'__tuple__': [canonical(v) for v in value]}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return {'__repr__': repr(value)}


def config_files(root: str) -> List[str]:
    """Configs (not ``_base_`` files) under ``root``, relative paths."""
    paths = glob.glob(osp.join(root, 'configs', '**', '*.py'),
                      recursive=True)
    paths += glob.glob(osp.join(root, 'projects', '*', 'configs', '**',
                                '*.py'), recursive=True)
    return sorted(osp.relpath(p, root) for p in paths
                  if '_base_' not in osp.relpath(p, root).split(os.sep))


def resolve(path: str) -> Dict[str, Any]:
    """``{'plain': ..., 'options': ...}`` of one config file."""
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    plain = canonical(cfg.to_dict())
    try:
        cfg.merge_from_dict(dict(OPTIONS))
        options = canonical(cfg.to_dict())
    except Exception as e:  # noqa: BLE001 (reported, compared as text)
        options = {'__error__': f'{type(e).__name__}: {e}'}
    return dict(plain=plain, options=options)


def dump(out: str, root: str) -> int:
    results = {}
    for rel in config_files(root):
        try:
            results[rel] = resolve(osp.join(root, rel))
        except Exception as e:  # noqa: BLE001 (reported in the dump)
            results[rel] = {'__error__': f'{type(e).__name__}: {e}'}
    with open(out, 'w', encoding='utf-8') as f:
        json.dump(results, f, indent=1, sort_keys=True)
    print(f'{out}: {len(results)} configs')
    return 0


def dump_rev(out: str, rev: str) -> int:
    """Dump the configs of git revision ``rev`` (extracted to a temp dir)."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = osp.join(tmp, 'tree.tar')
        subprocess.run(['git', 'archive', '-o', archive, rev, 'configs',
                        'projects'], check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(osp.join(tmp, 'tree'), filter='data')
        return dump(out, osp.join(tmp, 'tree'))


def diff_keys(a: Any, b: Any, prefix: str = '') -> List[str]:
    """Dotted keys whose values differ between ``a`` and ``b``."""
    if isinstance(a, dict) and isinstance(b, dict) and \
            '__tuple__' not in a and '__tuple__' not in b:
        keys = sorted(set(a) | set(b))
        out = []
        for k in keys:
            key = f'{prefix}.{k}' if prefix else k
            if k not in a:
                out.append(f'{key} (added)')
            elif k not in b:
                out.append(f'{key} (removed)')
            else:
                out += diff_keys(a[k], b[k], key)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff_keys(x, y, f'{prefix}.{i}')
        return out
    return [] if a == b else [prefix]


def drop(tree: Any, dotted: str) -> Any:
    """``tree`` without the key ``dotted`` (a copy; missing keys ignored)."""
    if not isinstance(tree, dict):
        return tree
    head, _, rest = dotted.partition('.')
    if head not in tree:
        return tree
    out = dict(tree)
    if rest:
        out[head] = drop(tree[head], rest)
    else:
        del out[head]
    return out


def compare(before: str, after: str, allow: Iterable[str] = (),
            runner: Optional[Iterable[str]] = None) -> int:
    with open(before, encoding='utf-8') as f:
        old = json.load(f)
    with open(after, encoding='utf-8') as f:
        new = json.load(f)
    if runner is None:
        from mtlpartial.utils.cli import runner_keys
        runner = runner_keys()
    runner = set(runner)
    failed = 0
    helpers = {}
    for rel, entry in old.items():
        if rel not in new:
            print(f'MISSING {rel}')
            failed += 1
            continue
        for kind in ('plain', 'options'):
            a, b = entry.get(kind, entry), new[rel].get(kind, new[rel])
            for key in allow:
                a, b = drop(a, key), drop(b, key)
            keys = diff_keys(a, b)
            bad = [k for k in keys if k.split('.')[0].split(' ')[0] in
                   runner or k.startswith('__error__')]
            other = [k for k in keys if k not in bad]
            if bad:
                failed += 1
                print(f'DIFF {rel} ({kind}): {bad}')
            if other and kind == 'plain':
                helpers[rel] = other
    groups: Dict[tuple, List[str]] = {}
    for rel, keys in helpers.items():
        groups.setdefault(tuple(keys), []).append(rel)
    for keys, rels in groups.items():
        shown = ', '.join(rels[:3]) + (', ...' if len(rels) > 3 else '')
        print(f'helper variables (not read by the runner) {list(keys)} '
              f'differ in {len(rels)} configs: {shown}')
    added = sorted(set(new) - set(old))
    print(f'{len(old)} configs compared, {failed} with differences in '
          f'runner keys; {len(added)} new configs')
    return 1 if failed else 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='cmd', required=True)
    d = sub.add_parser('dump', help='dump the resolved configs to JSON')
    d.add_argument('out')
    d.add_argument('--root', default='.', help='tree holding configs/')
    d.add_argument('--rev', help='dump the configs of this git revision')
    c = sub.add_parser('compare', help='compare two dumps')
    c.add_argument('before')
    c.add_argument('after')
    c.add_argument('--allow', nargs='*', default=[],
                   help='dotted keys whose change is intended')
    args = parser.parse_args(argv)
    if args.cmd == 'dump':
        return dump_rev(args.out, args.rev) if args.rev else \
            dump(args.out, args.root)
    return compare(args.before, args.after, args.allow)


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))
    sys.exit(main())
