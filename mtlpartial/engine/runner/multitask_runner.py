# Copyright (c) mtlpartial contributors. All rights reserved.
"""An mmengine ``Runner`` whose console says what matters.

Before the first progress line, mmengine logs the whole environment, the
whole config (hundreds of lines) and the order of every hook, and it states
the world size as "GPU number" next to the configured
``env_cfg.dist_cfg.backend``, even for a CPU run that uses gloo.
``MultiTaskRunner`` (``runner_type = 'MultiTaskRunner'`` in
``configs/_base_/default_runtime.py``; ``tools/train.py`` and
``tools/test.py`` build it) keeps all of that in the log file and prints one
line instead: the world size, the backend and device actually used, where
the config was written and where the log file is. It also

* drops two notices that mmengine raises about its own deprecated
  ``FileClient`` / ``HardDiskBackend`` on every run (matched by their exact
  text; nothing a config can change);
* keeps the one-line metric summary of a test run (``Epoch(test) ...``) in
  the log file only: the metric tables before it show the same numbers.

Nothing else changes: training, checkpoints and hooks are mmengine's.
"""
import logging
import os.path as osp
from collections import OrderedDict

import torch
from mmengine.dist import is_distributed
from mmengine.logging import MMLogger
from mmengine.runner import Runner
from mmengine.utils.dl_utils import collect_env

from mtlpartial.registry import RUNNERS

#: ``extra`` flag of records that go to the log file only
FILE_ONLY = 'mtlpartial_file_only'

#: mmengine notices about its own deprecated internals, raised on every run
KNOWN_NOTICES = (
    '"FileClient" will be deprecated in future.',
    '"HardDiskBackend" is the alias of "LocalBackend" and the former will '
    'be deprecated in future.',
)

#: mmengine messages kept out of the console (they stay in the log file)
CONSOLE_SKIPPED_PREFIXES = (
    'Hooks will be executed in the following order',
    'Epoch(test) [',
)


class KnownNoticeFilter(logging.Filter):
    """Drop the :data:`KNOWN_NOTICES` (exact start of the message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(KNOWN_NOTICES)


class ConsoleFilter(logging.Filter):
    """Keep file-only records and :data:`CONSOLE_SKIPPED_PREFIXES` off the
    console."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, FILE_ONLY, False):
            return False
        return not record.getMessage().startswith(CONSOLE_SKIPPED_PREFIXES)


def distributed_setup() -> str:
    """World size, backend and device, e.g. ``'world size 2 (gloo, cpu)'``."""
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if not is_distributed():
        return f'world size 1 (not distributed, {device})'
    return (f'world size {torch.distributed.get_world_size()} '
            f'({torch.distributed.get_backend()}, {device})')


@RUNNERS.register_module()
class MultiTaskRunner(Runner):
    """:class:`mmengine.runner.Runner` with a concise console (see the
    module docstring). Same arguments."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        config = osp.join(self.work_dir, osp.basename(self.cfg.filename)) \
            if self.cfg.filename else \
            osp.join(self.work_dir, f'{self.timestamp}.py')
        log_file = osp.join(self.log_dir, f'{self.timestamp}.log')
        self.logger.info(
            f'{self.run_summary()}; config written to {config}; '
            f'environment, full config and hook order in {log_file}')

    def run_summary(self) -> str:
        """The distributed setup, the launcher and the seed, in one line."""
        text = (f'{distributed_setup()}, launcher {self.launcher}, seed '
                f'{self.seed}')
        configured = (self.cfg.get('env_cfg') or {}).get(
            'dist_cfg', {}).get('backend')
        if is_distributed() and configured and \
                configured != torch.distributed.get_backend():
            text += (f' (env_cfg.dist_cfg.backend={configured!r} is not '
                     'used: the process group was created with '
                     f'{torch.distributed.get_backend()})')
        return text

    def build_logger(self, *args, **kwargs) -> MMLogger:
        logger = super().build_logger(*args, **kwargs)
        if not any(isinstance(f, KnownNoticeFilter) for f in logger.filters):
            logger.addFilter(KnownNoticeFilter())
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler and not any(
                    isinstance(f, ConsoleFilter) for f in handler.filters):
                handler.addFilter(ConsoleFilter())
        return logger

    def _log_env(self, env_cfg: dict) -> None:
        """mmengine's environment and config dump, to the log file only,
        with the world size and the backend in use."""
        runtime = OrderedDict(env_cfg)
        runtime.update(self._randomness_cfg)
        runtime['seed'] = self._seed
        runtime['distributed launcher'] = self._launcher
        runtime['distributed setup'] = distributed_setup()
        lines = [f'    {k}: {v}' for k, v in collect_env().items()]
        lines += ['', 'Runtime environment:']
        lines += [f'    {k}: {v}' for k, v in runtime.items()]
        dash = '-' * 60
        self.logger.info(
            '\n'.join(['', dash, 'System environment:', *lines, dash, '']),
            extra={FILE_ONLY: True})
        if self.cfg._cfg_dict:
            self.logger.info(f'Config:\n{self.cfg.pretty_text}',
                             extra={FILE_ONLY: True})
