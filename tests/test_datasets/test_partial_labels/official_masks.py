# Copyright (c) mtlpartial contributors. All rights reserved.
"""Locate the official MTPSL mask files (``<repo>/../shared/...``)."""
import os.path as osp

import pytest

REPO_ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
MASK_DIR = osp.join(
    osp.dirname(REPO_ROOT), 'shared', 'data', 'mtpsl_label_masks')


def official(name: str) -> str:
    """Path of an official mask file; skips the test if it is absent."""
    path = osp.join(MASK_DIR, name)
    if not osp.isfile(path):
        pytest.skip(f'official mask file not available: {path}')
    return path
