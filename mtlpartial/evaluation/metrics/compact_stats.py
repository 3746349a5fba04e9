# Copyright (c) mtlpartial contributors. All rights reserved.
"""Compact storage of per-sample statistics.

``MultiTaskMetric`` keeps one entry per sample in ``results`` (so that
mmengine can drop the samples that the distributed sampler pads). Some
statistics are long and mostly zero (the 18,000-bin angle histogram of
normals, confusion matrices with many classes); they are stored sparsely.
"""
from typing import Dict, Mapping, Union

import torch
from torch import Tensor

#: tensors with fewer elements are always stored densely.
MIN_SPARSE_NUMEL = 256


class SparseStat:
    """A tensor stored as its shape, the flat indices and values of its
    non-zero elements."""

    __slots__ = ('shape', 'index', 'values')

    def __init__(self, shape, index: Tensor, values: Tensor) -> None:
        self.shape = tuple(shape)
        self.index = index
        self.values = values

    @classmethod
    def from_dense(cls, x: Tensor) -> 'SparseStat':
        flat = x.reshape(-1)
        index = flat.nonzero().view(-1)
        dtype = torch.int32 if flat.numel() < 2**31 else torch.int64
        return cls(x.shape, index.to(dtype), flat[index].clone())

    def to_dense(self) -> Tensor:
        numel = 1
        for s in self.shape:
            numel *= s
        out = torch.zeros(numel, dtype=self.values.dtype)
        out[self.index.long()] = self.values
        return out.view(self.shape)

    def __getstate__(self):
        return self.shape, self.index, self.values

    def __setstate__(self, state) -> None:
        self.shape, self.index, self.values = state


Stat = Union[Tensor, SparseStat]


def pack_stats(stats: Mapping[str, Tensor]) -> Dict[str, Stat]:
    """Store long, mostly-zero tensors sparsely (lossless)."""
    out: Dict[str, Stat] = {}
    for key, value in stats.items():
        if value.numel() >= MIN_SPARSE_NUMEL:
            nnz = int(torch.count_nonzero(value))
            if 2 * nnz < value.numel():
                out[key] = SparseStat.from_dense(value)
                continue
        out[key] = value.clone()
    return out


def unpack_stats(stats: Mapping[str, Stat]) -> Dict[str, Tensor]:
    """Inverse of :func:`pack_stats`."""
    return {
        k: v.to_dense() if isinstance(v, SparseStat) else v
        for k, v in stats.items()
    }
