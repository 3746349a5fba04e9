# Copyright (c) mtlpartial contributors. All rights reserved.
"""The joint-space alignment kernel (``embedding_alignment``) against
embeddings whose structure is known by construction."""
import math

import torch

from mtlpartial.models.diagnostics import cosine_gap, embedding_alignment


def shared_plus(parts: torch.Tensor, scale: float, seed: int = 1):
    """A mean map shared by every row, plus ``scale`` times ``parts``."""
    g = torch.Generator().manual_seed(seed)
    mean = torch.randn(1, *parts.shape[1:], generator=g)
    return mean + scale * parts


def test_aligned_space_small_spread():
    """Image-specific parts shared by a and b: centred same-image
    similarity is 1 even when a large shared mean hides them from the raw
    cosine gap."""
    g = torch.Generator().manual_seed(0)
    parts = torch.randn(12, 8, 2, 3, generator=g)
    a = shared_plus(parts, 0.05)
    b = shared_plus(parts, 0.05)
    out = embedding_alignment(a, b)
    assert out['centred_same'] > 0.99
    assert abs(out['centred_cross'] + 1 / 11) < 0.05  # centred: -1/(n-1)
    assert out['spread_a'] < 0.1 and out['spread_b'] < 0.1
    assert float(cosine_gap(a, b)) < 0.01  # what the training log sees
    assert math.isclose(out['same'] - out['cross'], float(cosine_gap(a, b)),
                        abs_tol=1e-5)


def test_unaligned_parts():
    """a and b vary across images, but independently: spread is large,
    centred same-image similarity is near the cross-image one."""
    g = torch.Generator().manual_seed(0)
    a = shared_plus(torch.randn(40, 16, 3, 3, generator=g), 1.0)
    b = shared_plus(torch.randn(40, 16, 3, 3, generator=g), 1.0)
    out = embedding_alignment(a, b)
    assert out['spread_a'] > 0.5
    assert abs(out['centred_same'] - out['centred_cross']) < 0.1


def test_groups_centre_separately():
    """Two groups with different means: centring per group removes each
    mean, so aligned parts give centred same-image similarity 1; one
    global mean would leave the group offsets in."""
    g = torch.Generator().manual_seed(0)
    parts = torch.randn(10, 8, 2, 2, generator=g)
    offset = torch.zeros(10, 8, 2, 2)
    offset[5:] = 10.0 * torch.randn(1, 8, 2, 2, generator=g)
    a = shared_plus(parts, 0.1) + offset
    ids = torch.tensor([0] * 5 + [1] * 5)
    assert embedding_alignment(a, a.clone(), ids)['centred_same'] > 0.99
    b = shared_plus(torch.randn(10, 8, 2, 2, generator=g), 0.1) + offset
    assert embedding_alignment(a, b, ids)['centred_same'] < 0.5
    assert embedding_alignment(a, b)['centred_same'] > 0.9  # offsets


def test_constant_output_and_single_rows():
    g = torch.Generator().manual_seed(0)
    const = torch.randn(1, 8, 2, 2, generator=g).repeat(6, 1, 1, 1)
    out = embedding_alignment(const, const)
    assert out['spread_a'] < 1e-6
    assert math.isclose(out['same'], 1.0, abs_tol=1e-5)
    lonely = embedding_alignment(const, const, torch.arange(6))
    assert all(math.isnan(v) for v in lonely.values())
    # a group of one row is left out, the others still count
    ids = torch.tensor([0, 0, 0, 1, 1, 2])
    parts = torch.randn(6, 8, 2, 2, generator=g)
    out = embedding_alignment(parts, parts, ids)
    assert math.isclose(out['centred_same'], 1.0, abs_tol=1e-5)
