# Copyright (c) mtlpartial contributors. All rights reserved.
"""Save and restore the global RNG states with checkpoints."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from mtlpartial.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Put python/numpy/torch RNG states into checkpoints and restore them.

    mmengine re-seeds at start-up but does not restore RNG states on
    ``--resume``. Augmentations in the main process (``num_workers=0``),
    Gumbel noise, dropout and randomised balancers (PCGrad, RLW) draw from
    these generators, so without this hook a resumed run diverges from an
    uninterrupted one. With it (on CPU, ``randomness=dict(seed=...)``,
    ``num_workers=0``), a run interrupted at an epoch boundary and resumed
    ends with the same weights as an uninterrupted run
    (tests/test_tools/test_train_resume_e2e.py).
    """
    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = dict(
            python=random.getstate(),
            numpy=np.random.get_state(),
            torch=torch.get_rng_state(),
            cuda=torch.cuda.get_rng_state_all()
            if torch.cuda.is_available() else [])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        if state is None:
            return
        py = state['python']
        random.setstate((py[0], tuple(py[1]), py[2]))
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if torch.cuda.is_available() and state.get('cuda'):
            torch.cuda.set_rng_state_all(state['cuda'])
