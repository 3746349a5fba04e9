# Copyright (c) mtlpartial contributors. All rights reserved.
"""A minimal dataset with a label mask, for sampler tests."""
import numpy as np
from torch.utils.data import Dataset


class MaskOnlyDataset(Dataset):
    """Items are ``dict(idx=i)``; exposes ``label_mask`` and ``task_names``.
    """

    def __init__(self, label_mask, task_names=None) -> None:
        self.label_mask = np.asarray(label_mask, dtype=bool)
        self.task_names = tuple(task_names or (
            f't{k}' for k in range(self.label_mask.shape[1])))

    def __len__(self) -> int:
        return len(self.label_mask)

    def __getitem__(self, idx: int) -> dict:
        return dict(idx=int(idx))


def official(name: str) -> str:
    """Path of an official MTPSL mask file (``<repo>/../shared/data/
    mtpsl_label_masks``); skips the test if it is absent."""
    import os.path as osp

    import pytest
    repo_root = osp.dirname(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    path = osp.join(
        osp.dirname(repo_root), 'shared', 'data', 'mtpsl_label_masks', name)
    if not osp.isfile(path):
        pytest.skip(f'official mask file not available: {path}')
    return path
