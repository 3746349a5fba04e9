# Copyright (c) mtlpartial contributors. All rights reserved.
"""Test-session settings: one intra-op thread.

The tests run tiny models on small inputs. For such ops, torch's default
of one OpenMP thread per core costs more in synchronisation than it gains,
and when anything else shares the cores (a CI neighbour, ``pytest -n``)
spin-waiting threads make a 0.1 s training step take seconds. One thread
is fast and behaves the same on every machine. Subprocesses started by the
tests (``tools/train.py``, ``torchrun``) inherit ``OMP_NUM_THREADS``.
"""
import os

os.environ.setdefault('OMP_NUM_THREADS', '1')

import torch  # noqa: E402

torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
