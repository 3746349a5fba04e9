# Copyright (c) mtlpartial contributors. All rights reserved.
"""Command-line helpers shared by ``tools/train.py`` and ``tools/test.py``.

* :class:`ConfigOptionsAction`: mmengine's ``DictAction`` for
  ``--cfg-options``, plus values holding dicts (``key=dict(type=OneLabel,
  seed=1)``, ``key="{'type': 'OneLabel', 'seed': 1}"``, a list of dicts),
  which ``DictAction`` turns into a ``RecursionError`` or a list of string
  fragments. A dict value replaces the config's dict (``_delete_=True``).
* :func:`check_top_level_keys`: warn about top-level keys that nothing
  reads (``randomnes.seed=5`` is silently ignored by mmengine).
* :func:`find_resume_checkpoint`: what ``--resume`` without a path resumes,
  or an error naming the work dir when there is nothing to resume.
* :func:`add_launcher_args` / :func:`parse_args_with_launcher`,
  :func:`load_config` and :func:`build_runner`: the steps both tools share
  (launcher flags, the merged config and its work dir, the runner).
"""
import argparse
import ast
import difflib
import inspect
import logging
import os
import os.path as osp
from typing import Any, Iterable, List, Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

#: top-level config keys that mmengine or mtlpartial read besides the
#: arguments of ``Runner.__init__``
EXTRA_RUNNER_KEYS = ('runner_type', 'model_wrapper_cfg', 'compile',
                     'activation_checkpointing', 'efficient_conv_bn_eval',
                     'custom_imports', 'gpu_ids', 'dist_params')


def _literal(node: ast.AST) -> Any:
    """A literal, with bare names read as strings (like ``DictAction``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        return _dict_call(node)
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(e) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys,
                                                         node.values)}
    return ast.literal_eval(node)


def _dict_call(node: ast.Call) -> dict:
    if not (isinstance(node.func, ast.Name) and node.func.id == 'dict') \
            or node.args:
        raise ValueError('only dict(key=value, ...) calls are understood')
    return {kw.arg: _literal(kw.value) for kw in node.keywords}


def parse_dict_value(text: str) -> Any:
    """A value holding dicts (``dict(a=1, b=x)``, ``{'a': 1}``, ``[dict(
    ...), ...]``) as Python objects; None for any other value (left to
    ``DictAction``).

    Raises:
        ValueError: the text holds a dict but cannot be parsed.
    """
    text = text.strip()
    if 'dict(' not in text and '{' not in text:
        return None
    try:
        return _literal(ast.parse(text, mode='eval').body)
    except (SyntaxError, ValueError, TypeError) as e:
        raise ValueError(f'cannot parse {text!r}: {e}') from e


class ConfigOptionsAction(DictAction):
    """``DictAction`` that also accepts values holding dicts (see the module
    docstring); errors name the option."""

    def __call__(self, parser, namespace, values, option_string=None):
        options = dict(getattr(namespace, self.dest, None) or {})
        for item in values:
            key, sep, value = item.partition('=')
            try:
                parsed = parse_dict_value(value) if sep else None
            except ValueError as e:
                parser.error(f'{option_string} {item}: {e}; write dicts as '
                             'dict(key=value, ...) without spaces (quote '
                             'strings with / or .) or set their keys one by '
                             f'one ({key}.type=... {key}.<arg>=...)')
            if parsed is None:
                try:
                    super().__call__(parser, namespace, [item],
                                     option_string)
                except RecursionError:
                    parser.error(f'{option_string} {item}: mmengine cannot '
                                 'parse this value')
                options.update(getattr(namespace, self.dest))
            elif isinstance(parsed, dict):
                options[key] = dict(parsed, _delete_=True)  # replace
            else:
                options[key] = parsed
            setattr(namespace, self.dest, options)


def runner_keys() -> List[str]:
    """Top-level config keys that the runner reads."""
    from mmengine.runner import Runner
    params = inspect.signature(Runner.__init__).parameters
    return sorted(set(params) - {'self', 'cfg'} | set(EXTRA_RUNNER_KEYS))


def check_top_level_keys(cfg: Config,
                         file_keys: Iterable[str],
                         options: Optional[Iterable[str]] = None,
                         known: Iterable[str] = ()) -> List[str]:
    """Warn about top-level config keys that nothing reads.

    A key set only by ``--cfg-options`` (``options``, dotted keys) that the
    config file does not have and the runner does not read has no effect;
    a key of the config that the runner does not read but that is close to
    one it does (``randomnes``) is most likely a typo. Helper variables of
    configs (``tasks``, ``train_pipeline`` ...) are not reported.

    Args:
        cfg (Config): the merged config.
        file_keys (Iterable[str]): the top-level keys of the config file
            (before ``--cfg-options``).
        options (Iterable[str], optional): keys given on the command line.
        known (Iterable[str]): further keys read by the caller.

    Returns:
        list[str]: the warnings logged.
    """
    runner = set(runner_keys()) | set(known)
    added = {k.split('.')[0] for k in options or ()}
    file_keys = set(file_keys)
    warnings = []
    for key in sorted(cfg.keys()):
        if key in runner or key.startswith('_'):
            continue
        close = difflib.get_close_matches(key, sorted(runner), 1, 0.8)
        hint = f' (did you mean {close[0]!r}?)' if close else ''
        if key in added and key not in file_keys:
            warnings.append(f'--cfg-options {key}...: {key!r} is not a key '
                            'of the config and the runner does not read it,'
                            f' so it has no effect{hint}')
        elif close:
            warnings.append(f'config key {key!r} is not read by the runner'
                            f'{hint}; it has no effect')
    for text in warnings:
        print_log(text, logger='current', level=logging.WARNING)
    return warnings


def find_resume_checkpoint(work_dir: str) -> str:
    """The checkpoint that ``--resume`` without a path resumes.

    Raises:
        FileNotFoundError: nothing to resume in ``work_dir``, or its
            ``last_checkpoint`` names a missing file (names both).
    """
    from mmengine.runner import find_latest_checkpoint
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        raise FileNotFoundError(
            f'--resume: nothing to resume in the work dir {work_dir} (no '
            'last_checkpoint file); run without --resume to start a new run,'
            ' or pass the checkpoint: --resume PATH.pth')
    path = find_latest_checkpoint(work_dir)
    if not path or not osp.isfile(path):
        raise FileNotFoundError(
            f'--resume: {pointer} names {path!r}, which does not exist; '
            'pass a checkpoint explicitly: --resume PATH.pth')
    return path


def add_launcher_args(parser: argparse.ArgumentParser) -> None:
    """``--launcher`` and the ``--local-rank`` that
    ``torch.distributed.launch`` passes (torch >= 2.0)."""
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_args_with_launcher(
        parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line; ``LOCAL_RANK`` defaults to ``--local-rank``.
    """
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_config(path: str, cfg_options: Optional[dict], launcher: str,
                work_dir: Optional[str]) -> Config:
    """The config of a run: ``--cfg-options`` merged (top-level keys that
    nothing reads are reported, see :func:`check_top_level_keys`), the
    launcher, and the work dir (command line > config >
    ``./work_dirs/<config stem>``).

    Raises:
        FileNotFoundError: if ``path`` is not a file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    file_keys: Sequence[str] = list(cfg.keys())
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    check_top_level_keys(cfg, file_keys, cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg


def build_runner(cfg: Config):
    """Set up the process group of ``cfg.launcher`` (gloo on machines
    without CUDA) and build the runner (``runner_type`` when set)."""
    from mmengine.runner import Runner

    from mtlpartial.registry import RUNNERS
    from .dist_utils import init_cpu_distributed
    init_cpu_distributed(cfg.launcher)
    return Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
