# Copyright (c) mtlpartial contributors. All rights reserved.
"""Record the regularizers' diagnostics; warn when a joint space
collapses."""
import json
import logging
import math
import os.path as osp
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mtlpartial.registry import HOOKS


@HOOKS.register_module()
class RegularizerDiagnosticsHook(Hook):
    """Watch the ``<reg>.cos_gap`` diagnostics of the training step.

    With ``model.train_cfg.diagnostics_interval = N``, regularizers with a
    joint space (MTPSL, JTR) report every N iterations the mean cosine of
    same-image embedding pairs minus that of cross-image pairs
    (``<reg>.cos_gap``), and the model reports ``<reg>.grad_ratio`` (their
    gradient norm on the shared parameters over the supervised one). A
    collapsed space embeds every input alike (gap near 0): the regularizer
    then carries almost no signal. This hook reads the step's outputs and
    logs a warning naming the regularizer when its gap stays below
    ``threshold`` for ``patience`` consecutive reports (once per episode;
    it warns again after a recovery and a new collapse).

    Args:
        threshold (float): gap below which a report counts as collapsed.
            Defaults to 0.01.
        patience (int): consecutive collapsed reports before the warning.
            Defaults to 3.
    """
    priority = 'BELOW_NORMAL'

    def __init__(self, threshold: float = 0.01, patience: int = 3) -> None:
        if not float(threshold) > 0:
            raise ValueError('RegularizerDiagnosticsHook: threshold must be '
                             f'> 0, got {threshold!r}')
        if isinstance(patience, bool) or int(patience) < 1:
            raise ValueError('RegularizerDiagnosticsHook: patience must be '
                             f'a positive int, got {patience!r}')
        self.threshold = float(threshold)
        self.patience = int(patience)
        self._low: Dict[str, int] = {}
        self._warned: Dict[str, bool] = {}

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        outputs = outputs or {}
        record = {k: float(v) for k, v in outputs.items()
                  if k.endswith(('.cos_gap', '.grad_ratio', 'grad_norm'))}
        if record and is_main_process():
            path = osp.join(runner.log_dir, 'diagnostics.jsonl')
            with open(path, 'a', encoding='utf-8') as f:
                f.write(json.dumps(dict(iter=runner.iter + 1, **record))
                        + '\n')
        for key, value in outputs.items():
            if not key.endswith('.cos_gap'):
                continue
            name = key[:-len('.cos_gap')]
            gap = float(value)
            if math.isnan(gap):
                continue
            if gap >= self.threshold:
                self._low[name] = 0
                self._warned[name] = False
                continue
            self._low[name] = self._low.get(name, 0) + 1
            if self._low[name] >= self.patience and \
                    not self._warned.get(name, False):
                self._warned[name] = True
                print_log(
                    f'regularizer "{name}": joint space collapsed at '
                    f'iteration {runner.iter + 1}: same-image minus '
                    f'cross-image cosine {gap:.4g} < {self.threshold} for '
                    f'{self._low[name]} consecutive diagnostics. '
                    + self.consequence(outputs.get(f'{name}.grad_ratio')) +
                    ' Consider the official absolute learning rate of its '
                    'network, warmup_iters or rampup_epochs '
                    '(docs/results.md).',
                    logger='current', level=logging.WARNING)

    @staticmethod
    def consequence(ratio) -> str:
        """What a collapsed space means, given the regularizer's gradient
        norm on the shared parameters over the supervised one."""
        if ratio is None:
            return ''
        ratio = float(ratio)
        if ratio < 0.05:
            return (f'Its gradient on the shared parameters is {ratio:.3g}x '
                    'the supervised one (0 during warmup_iters, by design): '
                    'it can neither help nor hurt now.')
        return (f'Its gradient on the shared parameters is still {ratio:.3g}x '
                'the supervised one: it pulls the shared features towards a '
                'space that does not tell images apart.')
