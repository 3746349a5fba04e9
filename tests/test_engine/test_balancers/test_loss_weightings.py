# Copyright (c) mtlpartial contributors. All rights reserved.
"""Loss weightings against torchjd's scalarizers (weights = d scalar / d L)
and their defining invariants."""
import pytest
import torch

from mtlpartial.engine.balancers import (DWA, EW, FAMO, RLW, GradNorm, IMTLL,
                                         Uncertainty)
from mtlpartial.registry import BALANCERS


def scalarizer_weights(scalarizer, values):
    values = values.clone().requires_grad_(True)
    (grad, ) = torch.autograd.grad(scalarizer(values), values)
    return grad


def weigh(method, losses, gramian=None, **kwargs):
    """``method.weights`` (set up for ``len(losses)`` tasks on first use, as
    the optim wrapper constructor does for the model's tasks)."""
    if method.num_tasks is None:
        method.setup(max(losses.numel(), 1))
    return method.weights(gramian, losses, **kwargs)


def loss_seq(k=3, n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(k, generator=g) * 2 + 0.1 for _ in range(n)]


def test_ew():
    assert torch.equal(weigh(EW(), torch.tensor([3., 1.])), torch.ones(2))


def test_uncertainty_and_imtll_match_torchjd():
    sc = pytest.importorskip('torchjd.scalarization')
    for mine, ref, attr in ((Uncertainty(), sc.UW(3), 'log_var'),
                            (IMTLL(), sc.IMTLL(3), 'log_scale')):
        mine.setup(3)
        own = mine.optimizer_parameters()[0]
        with torch.no_grad():
            own.copy_(torch.tensor([0.3, -0.2, 0.1]))
            getattr(ref, attr).copy_(own)
        values = torch.tensor([1.5, 0.2, 0.7])
        torch.testing.assert_close(weigh(mine, values),
                                   scalarizer_weights(ref, values))
        # parameter gradients equal those of the joint objective
        mine.balancer_loss(None, values).backward()
        ref(values).backward()
        torch.testing.assert_close(own.grad, getattr(ref, attr).grad)


def test_dwa_matches_torchjd_over_epochs():
    sc = pytest.importorskip('torchjd.scalarization')
    mine, ref = DWA(), sc.DWA()
    for epoch in range(4):
        for values in loss_seq(seed=epoch, n=3):
            torch.testing.assert_close(
                weigh(mine, values.double(), epoch=epoch),
                scalarizer_weights(ref, values.double()))
        ref.step()
    # window variant and the first two epochs
    w = DWA(window=2)
    assert all(torch.equal(weigh(w, v), torch.ones(3))
               for v in loss_seq(n=4))
    assert not torch.equal(weigh(w, torch.ones(3)), torch.ones(3))
    with pytest.raises(ValueError, match='epoch'):
        weigh(DWA(), torch.ones(3))


def test_dwa_tasks_sitting_out():
    m = DWA(window=1)
    weigh(m, torch.tensor([1., 1., 1.]))
    weigh(m, torch.tensor([2., 1.]), tasks=torch.tensor([0, 2]))
    w = weigh(m, torch.tensor([1., 1., 1.]))
    # t1 missing in the last window: ratio 1; t0 doubled, t2 constant
    expected = 3 * torch.softmax(torch.tensor([2., 1., 1.]) / 2, 0)
    torch.testing.assert_close(w.float(), expected)
    w = weigh(m, torch.tensor([1., 1., 1.]))
    expected = 3 * torch.softmax(torch.tensor([0.5, 1., 1.]) / 2, 0)
    torch.testing.assert_close(w.float(), expected)


def test_famo_matches_torchjd_same_batch_updates():
    sc = pytest.importorskip('torchjd.scalarization')
    mine, ref = FAMO(), sc.FAMO(3)
    for values, after in zip(loss_seq(n=8), loss_seq(n=8, seed=1)):
        values, after = values.double(), after.double()
        ref_w = scalarizer_weights(ref.double(), values)
        torch.testing.assert_close(weigh(mine, values), ref_w)
        mine.update(after)
        ref.update(after)
        torch.testing.assert_close(mine.logits.double(), ref._w.double())
    assert not torch.allclose(mine.logits, torch.zeros(3))


def test_famo_next_batch_variant_and_sitting_out():
    m = FAMO()
    weigh(m, torch.tensor([1.0, 2.0, 3.0]))
    m.after_step()
    assert m.pending
    w = weigh(m, torch.tensor([0.5, 3.0]), tasks=torch.tensor([0, 2]))
    assert not m.pending
    # t0 improved, t2 did not: FAMO shifts weight to the slower task t2;
    # t1 (absent) takes no part in the softmax gradient
    logits = m.logits.detach()
    assert logits[0] < 0 < logits[2] and logits[1] == 0
    assert abs(float(w.sum()) - 1) < 1e-12
    state = m.state_dict()
    other = FAMO()
    other.setup(3)
    other.load_state_dict(state)
    torch.testing.assert_close(other.logits, m.logits)
    v = torch.tensor([0.4, 1.0, 2.5])
    m.after_step()
    other.after_step()
    torch.testing.assert_close(weigh(m, v), weigh(other, v))
    torch.testing.assert_close(other.logits, m.logits)


def test_rlw_invariants():
    m = RLW(seed=0)
    draws = torch.stack([weigh(m, torch.ones(4)) for _ in range(2000)])
    assert (draws > 0).all()
    torch.testing.assert_close(draws.sum(1), torch.ones(2000))
    assert (draws.mean(0) - 0.25).abs().max() < 0.02
    assert draws.std(0).min() > 0.05
    assert torch.equal(weigh(RLW(seed=1), torch.ones(1)), torch.ones(1))
    a, b = RLW(seed=5), RLW(seed=5)
    weigh(a, torch.ones(3))
    b.setup(3)
    b.load_state_dict(a.state_dict())
    assert torch.equal(weigh(a, torch.ones(3)), weigh(b, torch.ones(3)))


def test_gradnorm_objective():
    m = GradNorm(alpha=1.5)
    losses0 = torch.tensor([2.0, 1.0, 4.0], dtype=torch.float64)
    gram = torch.diag(torch.tensor([4.0, 1.0, 9.0], dtype=torch.float64))
    torch.testing.assert_close(weigh(m, losses0, gramian=gram).double(),
                               torch.ones(3).double())
    losses = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64)
    weigh(m, losses, gramian=gram)
    loss = m.balancer_loss(gram, losses)
    ratio = losses / losses0
    rel = ratio / ratio.mean()
    norms = torch.tensor([2.0, 1.0, 3.0], dtype=torch.float64)
    expected = (norms - norms.mean() * rel**1.5).abs().sum()
    torch.testing.assert_close(loss.double(), expected)
    loss.backward()
    assert m.logits.grad is not None and m.logits.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='Gramian'):
        weigh(GradNorm(), losses)


@pytest.mark.parametrize('name',
                         ['EW', 'Uncertainty', 'DWA', 'RLW', 'IMTLL', 'FAMO'])
def test_single_task_and_sitting_out(name):
    m = BALANCERS.build(dict(type=name))
    m.setup(3)
    w = weigh(m, torch.tensor([0.7]), tasks=torch.tensor([1]), epoch=0)
    assert w.shape == (1, ) and torch.isfinite(w).all() and w[0] > 0
    w = weigh(m, torch.tensor([0.7, 0.2]), tasks=torch.tensor([0, 2]),
                  epoch=0)
    assert w.shape == (2, ) and (w > 0).all()
    assert weigh(m, torch.zeros(0), tasks=torch.zeros(0), epoch=0).numel() \
        == 0
