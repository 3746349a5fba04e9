# Copyright (c) mtlpartial contributors. All rights reserved.
"""Gradient methods against torchjd (independent implementation) and their
defining invariants on random gradient matrices."""
import itertools
import warnings

import numpy as np
import pytest
import torch

from mtlpartial.engine.balancers import (CAGrad, DBMTL, GradDrop, GradVac,
                                         IMTLG, MGDA, AlignedMTL, NashMTL,
                                         PCGrad, UPGrad, aggregate)
from mtlpartial.engine.balancers.solvers import psd_sqrt
from mtlpartial.registry import BALANCERS

J_BASE = torch.tensor([[-4., 1., 1.], [6., 1., 1.]], dtype=torch.float64)


def random_jacobians(n=24, ks=(1, 2, 3, 5), ps=(7, 60), with_k1=True):
    """Random K×P matrices: varied norms, a shared component (partly
    aligned tasks) and badly scaled ones."""
    out = []
    for seed in range(n):
        g = torch.Generator().manual_seed(seed)
        k = ks[seed % len(ks)]
        if k == 1 and not with_k1:
            k = 2
        p = ps[seed % len(ps)]
        jac = torch.randn(k, p, generator=g, dtype=torch.float64)
        jac = jac * (0.2 + 3 * torch.rand(k, 1, generator=g,
                                          dtype=torch.float64))
        jac = jac + 0.5 * torch.randn(1, p, generator=g, dtype=torch.float64)
        if seed % 4 == 3:
            jac = jac * torch.logspace(-1, 1, k, dtype=torch.float64)[:, None]
        out.append(jac)
    return out


def combine(method, jac, losses=None, tasks=None):
    """``method``'s update and weights on ``jac`` (set up for its rows on
    first use, as the optim wrapper constructor does for the model's
    tasks)."""
    if method.num_tasks is None and jac.dim() == 2:
        method.setup(max(jac.shape[0], 1))
    return aggregate(method, jac, losses, tasks)


def rel(a, b):
    return float((a - b).norm() / b.norm().clamp(min=1e-300))


@pytest.fixture
def identity_randperm(monkeypatch):
    """Fixed (identity) task orders for PCGrad/GradVac, in both libraries."""
    monkeypatch.setattr(
        torch, 'randperm',
        lambda n, *args, **kwargs: torch.arange(n))


# ----------------------------------------------------------------- golden
def test_golden_values():
    """torchjd's published fixtures (tests/unit/aggregation/test_values)."""
    cases = {
        'IMTLG': (IMTLG(), [0.0767, 1, 1]),
        'MGDA': (MGDA(), [0, 1, 1]),
        'UPGrad': (UPGrad(), [0.2929, 1.9004, 1.9004]),
        'NashMTL': (NashMTL(), [0.0542, 0.7061, 0.7061]),
        'CAGrad': (CAGrad(c=0.5, rescale=0, sum_scale=False),
                   [0.1835, 1.2041, 1.2041]),
        'CAGrad-ref': (CAGrad(c=0.5), [0.2936, 1.9266, 1.9266]),
        'AlignedMTL': (AlignedMTL(), [0.4266, 1.9346, 1.9346]),
    }
    for name, (method, expected) in cases.items():
        out = combine(method, J_BASE).update
        np.testing.assert_allclose(out.numpy(), expected, atol=1e-4,
                                   err_msg=name)
    torch.manual_seed(0)
    out = combine(PCGrad(seed=0), J_BASE).update
    np.testing.assert_allclose(out.numpy(), [0.5848, 3.8012, 3.8012],
                               atol=1e-4)


def test_registry_builds_every_method():
    for name in ('MGDA', 'PCGrad', 'GradDrop', 'GradVac', 'CAGrad', 'IMTLG',
                 'NashMTL', 'AlignedMTL', 'UPGrad', 'DBMTL'):
        method = BALANCERS.build(dict(type=name))
        out = combine(method, J_BASE.clone(), losses=torch.ones(2)).update
        assert out.shape == (3, ) and torch.isfinite(out).all(), name


# ------------------------------------------------------- torchjd oracles
def test_closed_form_methods_match_torchjd():
    tj = pytest.importorskip('torchjd.aggregation')
    for jac in random_jacobians():
        k = jac.shape[0]
        pairs = [(IMTLG(), tj.IMTLG(), 1.0),
                 (UPGrad(norm_eps=1e-4), tj.UPGrad(), 1.0),
                 (AlignedMTL(eps_dtype=torch.float64), tj.AlignedMTL(), k)]
        for mine, ref, scale in pairs:
            out = combine(mine, jac).update
            assert rel(out, scale * ref(jac)) < 1e-5, \
                (type(mine).__name__, k)


def test_pcgrad_and_gradvac_match_torchjd(identity_randperm):
    tj = pytest.importorskip('torchjd.aggregation')
    for jac in random_jacobians(n=12):
        out = combine(PCGrad(), jac).update
        assert rel(out, tj.PCGrad()(jac)) < 1e-10
    # GradVac is stateful: replay a sequence of matrices
    for k in (2, 3, 4):
        mine, ref = GradVac(beta=0.5), tj.GradVac(beta=0.5)
        for step in range(4):
            g = torch.Generator().manual_seed(10 * k + step)
            jac = torch.randn(k, 30, generator=g, dtype=torch.float64)
            jac = jac + torch.randn(1, 30, generator=g, dtype=torch.float64)
            out = combine(mine, jac).update
            assert rel(out, ref(jac)) < 1e-10, (k, step)


def test_pcgrad_two_tasks_matches_torchjd_without_patching():
    tj = pytest.importorskip('torchjd.aggregation')
    for jac in random_jacobians(n=8, ks=(2, )):
        out = combine(PCGrad(seed=1), jac).update
        assert rel(out, tj.PCGrad()(jac)) < 1e-10


def test_nash_mtl_matches_torchjd_and_solves_bargaining():
    tj = pytest.importorskip('torchjd.aggregation')
    pytest.importorskip('cvxpy')
    checked = 0
    for seed in range(6):
        k = (2, 3, 4)[seed % 3]
        mine, ref = NashMTL(max_norm=0), tj.NashMTL(n_tasks=k, max_norm=0)
        g = torch.Generator().manual_seed(seed)
        for _ in range(3):
            jac = torch.randn(k, 40, generator=g, dtype=torch.float64)
            jac = jac * torch.rand(k, 1, generator=g, dtype=torch.float64) * 3
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                expected = ref(jac)
            res = combine(mine, jac)
            out = res.update
            gram = jac @ jac.T
            alpha = res.weights
            # exact bargaining solution: G α = 1/α, α > 0
            assert (alpha > 0).all()
            assert float((gram @ alpha - 1 / alpha).norm() /
                         (1 / alpha).norm()) < 1e-8
            # the official CCCP is inexact (and keeps its previous α when
            # ECOS fails): compare where it converged
            ref_alpha = torch.linalg.lstsq(jac.T, expected[:, None]).solution
            ref_alpha = ref_alpha.squeeze(1)
            res = float((gram @ ref_alpha - 1 / ref_alpha).norm() /
                        (1 / ref_alpha).norm())
            if res < 1e-5:
                assert rel(out, expected) < 1e-4
                checked += 1
    assert checked >= 12


def test_cagrad_against_torchjd_and_exact_dual():
    tj = pytest.importorskip('torchjd.aggregation')
    cp = pytest.importorskip('cvxpy')
    for jac in random_jacobians(n=16, ks=(2, 3, 5)):
        k = jac.shape[0]
        mine = CAGrad(c=0.4, rescale=0, sum_scale=False)
        res = combine(mine, jac)
        out = res.update
        # the exact dual with tight tolerances (Clarabel)
        gram = (jac @ jac.T).numpy()
        gn = gram / np.trace(gram) * k
        b = gn @ np.full(k, 1.0 / k)
        r = 0.4 * np.sqrt(b.mean())
        a = psd_sqrt(gn)
        w = cp.Variable(k)
        prob = cp.Problem(cp.Minimize(b @ w + r * cp.norm(a @ w, 2)),
                          [w >= 0, cp.sum(w) == 1])
        prob.solve(cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12,
                   tol_feas=1e-12)

        def dual(x):
            return float(b @ x + r * np.sqrt(max(x @ gn @ x, 0)))

        w_mine = (res.weights.numpy() - 1.0 / k)
        w_mine = w_mine / w_mine.sum()
        assert dual(w_mine) <= prob.value + 1e-10
        # primal: d maximises min_i g_i·d in the ball ‖d − g0‖ ≤ c‖g0‖
        g0 = jac.mean(0)
        assert abs(float((out - g0).norm()) -
                   0.4 * float(g0.norm())) < 1e-8 * float(g0.norm())
        # torchjd (Clarabel defaults): loose agreement on the update
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            expected = tj.CAGrad(c=0.4)(jac)
        if expected.norm() > 0:  # torchjd's zero-update heuristic
            assert rel(out, expected) < 1e-3


def test_cagrad_scales():
    d = combine(CAGrad(c=0.4, rescale=0, sum_scale=False), J_BASE).update
    np.testing.assert_allclose(
        combine(CAGrad(), J_BASE).update, 2 * d / 1.16, rtol=1e-12)
    np.testing.assert_allclose(
        combine(CAGrad(rescale=2, sum_scale=False), J_BASE).update,
        d / 1.4,
        rtol=1e-12)


# ------------------------------------------------------------- invariants
def test_mgda_kkt_and_min_norm():
    for jac in random_jacobians(n=20, ks=(2, 3, 5)):
        mgda = MGDA()
        out, w = combine(mgda, jac)
        gram = jac @ jac.T
        assert (w >= -1e-12).all() and abs(float(w.sum()) - 1) < 1e-12
        gw = gram @ w
        norm2 = float(w @ gw)
        scale = float(gram.diagonal().max())
        # KKT: G w ≥ ‖d‖² on all tasks, = on the support
        assert (gw >= norm2 - 1e-9 * scale).all()
        support = w > 1e-9
        assert torch.allclose(gw[support],
                              torch.full_like(gw[support], norm2),
                              atol=1e-9 * scale)
        # no vertex/edge point has a smaller norm
        for i, j in itertools.combinations(range(jac.shape[0]), 2):
            for t in np.linspace(0, 1, 11):
                v = t * jac[i] + (1 - t) * jac[j]
                assert float(v.norm()) >= float(out.norm()) - 1e-9


def test_mgda_normalisations_apply_weights_to_raw_gradients():
    losses = torch.tensor([2.0, 0.5], dtype=torch.float64)
    for mode in ('l2', 'loss', 'loss+'):
        m = MGDA(normalization=mode)
        out, w = combine(m, J_BASE, losses=losses)
        torch.testing.assert_close(out, w @ J_BASE)
    with pytest.raises(ValueError, match='losses'):
        combine(MGDA(normalization='loss'), J_BASE)


def test_imtlg_equal_projections():
    for jac in random_jacobians(n=12, ks=(2, 3, 5), ps=(60, )):
        out = combine(IMTLG(), jac).update
        unit = jac / jac.norm(dim=1, keepdim=True)
        proj = unit @ out
        torch.testing.assert_close(proj, proj.mean().expand_as(proj),
                                   rtol=1e-9, atol=1e-12)


def test_upgrad_nonconflicting():
    for jac in random_jacobians(n=12, ks=(2, 3, 5)):
        out = combine(UPGrad(), jac).update
        assert (jac @ out >= -1e-9 * float(jac.norm()**2)).all()


def test_pcgrad_random_orders_are_valid_and_seeded():
    jac = torch.tensor([[1., -2., 0.5], [-1.5, 1., 1.], [0.2, 1., -2.]],
                       dtype=torch.float64)
    k = 3
    gram = jac @ jac.T
    candidates = []  # every per-task order
    for i in range(k):
        rows = []
        for order in itertools.permutations([j for j in range(k) if j != i]):
            c = torch.zeros(k, dtype=torch.float64)
            c[i] = 1
            for j in order:
                dot = gram[j] @ c
                if dot < 0:
                    c[j] -= dot / gram[j, j]
            rows.append(c @ jac)
        candidates.append(rows)
    sums = [sum(r) for r in itertools.product(*candidates)]
    seen = set()
    method = PCGrad(seed=7)
    for _ in range(30):
        out = combine(method, jac).update
        match = [n for n, s in enumerate(sums) if torch.allclose(out, s)]
        assert match
        seen.add(match[0])
    assert len(seen) > 1  # the order is random
    a, b = PCGrad(seed=3), PCGrad(seed=3)
    assert all(torch.equal(combine(a, jac).update, combine(b, jac).update)
               for _ in range(5))


def test_graddrop_invariants():
    g = torch.Generator().manual_seed(0)
    jac = torch.randn(3, 20000, generator=g, dtype=torch.float64)
    out = combine(GradDrop(seed=0), jac).update
    pos = jac.clamp(min=0).sum(0)
    neg = jac.clamp(max=0).sum(0)
    picked_pos = torch.isclose(out, pos)
    picked_neg = torch.isclose(out, neg)
    assert (picked_pos | picked_neg).all()
    # P(keep positive) = purity
    purity = 0.5 * (1 + jac.sum(0) / jac.abs().sum(0))
    mixed = (pos > 0) & (neg < 0)
    freq = picked_pos[mixed].double().mean()
    assert abs(float(freq - purity[mixed].mean())) < 0.02
    # agreeing signs or leak=1: plain sum; zeros stay zero
    same = jac.abs()
    torch.testing.assert_close(combine(GradDrop(), same).update, same.sum(0))
    torch.testing.assert_close(combine(GradDrop(leak=1.0), jac).update,
                               jac.sum(0))
    zero = torch.zeros(2, 5, dtype=torch.float64)
    assert torch.equal(combine(GradDrop(), zero).update,
                       torch.zeros(5).double())
    # seeded and checkpointed
    a, b = GradDrop(seed=4), GradDrop(seed=4)
    combine(a, jac)
    b.setup(a.num_tasks)
    b.load_state_dict(a.state_dict())
    assert torch.equal(combine(a, jac).update, combine(b, jac).update)


def test_dbmtl_against_recurrence():
    m = DBMTL()
    buf = torch.zeros(3, 10, dtype=torch.float64)
    for step in range(1, 4):
        g = torch.Generator().manual_seed(step)
        jac = torch.randn(3, 10, generator=g, dtype=torch.float64)
        losses = torch.rand(3, generator=g, dtype=torch.float64) + 0.1
        tasks = torch.tensor([0, 2]) if step == 2 else torch.arange(3)
        rows = jac[tasks] / (losses[tasks, None] + 1e-8)
        buf[tasks] = rows + 0.9 * (buf[tasks] - rows)
        norms = buf[tasks].norm(dim=1)
        expected = (norms.max() / (norms + 1e-8)) @ buf[tasks]
        out = combine(m, jac[tasks], losses[tasks], tasks).update
        torch.testing.assert_close(out, expected)


# ------------------------------------------ one task, tasks that sit out
@pytest.mark.parametrize('name', [
    'MGDA', 'PCGrad', 'GradDrop', 'GradVac', 'CAGrad', 'IMTLG', 'NashMTL',
    'AlignedMTL', 'UPGrad', 'DBMTL'
])
def test_single_task_and_sitting_out(name):
    g = torch.randn(1, 9, dtype=torch.float64)
    method = BALANCERS.build(dict(type=name))
    method.setup(3)
    out = combine(method, g, losses=torch.ones(1),
                  tasks=torch.tensor([2])).update
    assert out.shape == (9, ) and torch.isfinite(out).all()
    cos = float(out @ g[0] / (out.norm() * g[0].norm()))
    assert cos > 1 - 1e-9  # the only task's direction
    if name not in ('CAGrad', 'NashMTL', 'DBMTL'):
        torch.testing.assert_close(out, g[0])
    empty = combine(method, torch.zeros(0, 9, dtype=torch.float64),
                    losses=torch.zeros(0), tasks=torch.zeros(0)).update
    assert torch.equal(empty, torch.zeros(9, dtype=torch.float64))
    with pytest.raises(ValueError, match='out of range'):
        combine(method, g, losses=torch.ones(1), tasks=torch.tensor([3]))


def test_zero_gradients_do_not_break_solvers():
    jac = torch.zeros(3, 6, dtype=torch.float64)
    jac[0] = torch.arange(6.)
    for name in ('MGDA', 'PCGrad', 'CAGrad', 'IMTLG', 'NashMTL', 'AlignedMTL',
                 'UPGrad', 'GradVac'):
        out = combine(BALANCERS.build(dict(type=name)), jac).update
        assert torch.isfinite(out).all(), name


def test_stateful_round_trip():
    seq = random_jacobians(n=6, ks=(3, ), ps=(20, ))
    for make in (lambda: NashMTL(update_weights_every=2),
                 lambda: GradVac(seed=2)):
        a = make()
        for jac in seq[:3]:
            combine(a, jac)
        b = make()
        b.setup(a.num_tasks)
        b.load_state_dict(a.state_dict())
        for jac in seq[3:]:
            torch.testing.assert_close(combine(a, jac).update,
                                       combine(b, jac).update,
                                       rtol=0, atol=0)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r'\[K, P\]'):
        combine(PCGrad(), torch.zeros(3))
    with pytest.raises(ValueError, match='scale_mode'):
        AlignedMTL(scale_mode='max')
    with pytest.raises(ValueError, match='set up for 2'):
        m = IMTLG()
        m.setup(2)
        m.setup(3)


# ------------------------------------------------- Nash-MTL, badly scaled
def test_nash_mtl_is_exact_for_tiny_task_gradients():
    """The ridge that keeps the Nash objective bounded is relative to each
    task's own norm: orthogonal gradients ``diag(1, 1e-5)`` get the update
    ``[1, 1]`` (the fixed 1e-10 ridge on the trace-normalised Gramian gave
    ``[1, 0.8165]``)."""
    jac = torch.tensor([[1.0, 0.0], [0.0, 1e-5]], dtype=torch.float64)
    out = combine(NashMTL(max_norm=0), jac).update
    torch.testing.assert_close(out, torch.ones(2, dtype=torch.float64),
                               rtol=1e-9, atol=0)


@pytest.mark.parametrize('ratio', [1e2, 1e4, 1e6])
def test_nash_mtl_solves_bargaining_at_any_norm_ratio(ratio):
    g = torch.Generator().manual_seed(int(np.log10(ratio)))
    for k in (2, 3, 4):
        jac = torch.randn(k, 12, generator=g, dtype=torch.float64)
        jac = jac * torch.logspace(0, -np.log10(ratio), k,
                                   dtype=torch.float64)[:, None]
        res = combine(NashMTL(max_norm=0), jac)
        alpha, gram = res.weights, jac @ jac.T
        assert (alpha > 0).all()
        # G α = 1/α to solver precision, for every task
        torch.testing.assert_close(alpha * (gram @ alpha),
                                   torch.ones(k, dtype=torch.float64),
                                   rtol=1e-8, atol=0)
        # the update has a unit projection on every task gradient
        torch.testing.assert_close(jac @ res.update * alpha,
                                   torch.ones(k, dtype=torch.float64),
                                   rtol=1e-8, atol=0)
