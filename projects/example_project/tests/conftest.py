# Copyright (c) mtlpartial contributors. All rights reserved.
"""Make the repository root importable (``projects.*`` and ``tests.*``)
whichever directory pytest is started from."""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)
