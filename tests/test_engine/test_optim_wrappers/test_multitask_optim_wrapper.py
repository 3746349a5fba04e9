# Copyright (c) mtlpartial contributors. All rights reserved.
"""MultiTaskOptimWrapper against loop-based reference gradients (SGD lr=1,
so the parameter change is exactly the gradient the wrapper produced)."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mtlpartial.engine.balancers import (IMTLG, MGDA, GramianBalancer,
                                         NashMTL, PCGrad, aggregate)
from mtlpartial.engine.optim_wrappers import MultiTaskOptimWrapper
from mtlpartial.registry import BALANCERS
from mtlpartial.structures import MultiTaskLosses
from .fake_model import (FakeMultiTaskModel, flat_shared_reg, make_data,
                         param_deltas, reference_pieces, snapshot)

TOL = dict(rtol=1e-9, atol=1e-11)


def build(model, balancer, lr=1.0, type='MultiTaskOptimWrapper', **kwargs):
    init_default_scope('mtlpartial')
    return build_optim_wrapper(
        model,
        dict(type=type, constructor='MultiTaskOptimWrapperConstructor',
             optimizer=dict(type='SGD', lr=lr), balancer=balancer,
             **kwargs))


def combine(method, jac, tasks=None, k=3):
    """Reference update of a balancer set up for ``k`` tasks."""
    method.setup(k)
    return aggregate(method, jac, tasks=tasks)


def new_model(reg=True, seed=0):
    torch.manual_seed(seed)
    return FakeMultiTaskModel(reg=reg).double()


def split_shared(model, flat):
    out, offset = {}, 0
    for n, p in model.named_parameters():
        if n.startswith('backbone'):
            out[n] = flat[offset:offset + p.numel()].view_as(p)
            offset += p.numel()
    return out


def check_heads(model, pieces, deltas, weights):
    """head k gets weights[k]·∇L_k (+ the regularizer's head gradient)."""
    for k in range(len(model.task_names)):
        names = [f'heads.{k}.weight', f'heads.{k}.bias']
        for j, n in enumerate(names):
            expected = pieces['reg'].get(n,
                                         torch.zeros_like(deltas[n])).clone()
            if pieces['head'][k] is not None:
                expected += weights[k] * pieces['head'][k][j]
            torch.testing.assert_close(deltas[n], expected, **TOL)


@pytest.mark.parametrize('inactive', [False, True])
def test_gradient_method_param_mode(inactive):
    model = new_model()
    x, y, labelled = make_data()
    if inactive:
        labelled[:, 1] = False  # task t1 sits out
    ref_model = copy.deepcopy(model)
    pieces = reference_pieces(ref_model, x, y, labelled)
    rows = [0, 2] if inactive else [0, 1, 2]
    expected = combine(PCGrad(seed=3), pieces['jac'][rows],
                       tasks=torch.tensor(rows)).update
    expected = expected + flat_shared_reg(ref_model, pieces)

    wrapper = build(model, dict(type='PCGrad', seed=3))
    before = snapshot(model)
    log = model.step(wrapper, x, y, labelled)
    deltas = param_deltas(before, model)
    for n, e in split_shared(model, expected).items():
        torch.testing.assert_close(deltas[n], e, **TOL)
    check_heads(model, pieces, deltas, [1.0, 1.0, 1.0])
    # regularizer-only parameter: its own gradient, unmodified
    torch.testing.assert_close(deltas['reg_scale'], pieces['reg']['reg_scale'],
                               **TOL)
    if inactive:
        assert torch.count_nonzero(deltas['heads.1.weight']) == 0
        assert 'weight_t1' not in log
    assert {'loss', 'loss_t0', 'reg.loss_smooth', 'acc_metric',
            'weight_t0'} <= set(log)


def test_gradient_method_rep_mode():
    model = new_model()
    x, y, labelled = make_data(seed=1)
    ref_model = copy.deepcopy(model)
    pieces = reference_pieces(ref_model, x, y, labelled)
    w = combine(MGDA(), pieces['rep_jac']).weights
    comb = (w @ pieces['rep_jac']).view_as(pieces['feat'])
    shared_task = torch.autograd.grad(
        pieces['feat'], ref_model.shared_parameters(), comb,
        retain_graph=True)
    expected = torch.cat([g.reshape(-1) for g in shared_task]) + \
        flat_shared_reg(ref_model, pieces)

    wrapper = build(model, dict(type='MGDA'), rep_grad=True)
    before = snapshot(model)
    model.step(wrapper, x, y, labelled)
    deltas = param_deltas(before, model)
    for n, e in split_shared(model, expected).items():
        torch.testing.assert_close(deltas[n], e, **TOL)
    check_heads(model, pieces, deltas, [1.0, 1.0, 1.0])


@pytest.mark.parametrize('batched', [True, False])
def test_weighting_and_learnable_parameters(batched):
    model = new_model()
    x, y, labelled = make_data(seed=2)
    ref_model = copy.deepcopy(model)
    pieces = reference_pieces(ref_model, x, y, labelled)
    wrapper = build(model, dict(type='Uncertainty', init=0.2),
                    batched_vjp=batched)
    before = snapshot(model)
    model.step(wrapper, x, y, labelled)
    deltas = param_deltas(before, model)
    w = 0.5 * torch.exp(torch.tensor(-0.2, dtype=torch.float64))
    expected = w * pieces['jac'].sum(0) + flat_shared_reg(ref_model, pieces)
    # the weights come from a float32 parameter
    for n, e in split_shared(model, expected).items():
        torch.testing.assert_close(deltas[n], e, rtol=1e-6, atol=1e-8)
    check_heads(model, pieces, deltas, [w.float().double()] * 3)
    # the log-variances are in the optimizer and follow
    # d/ds [½e^{-s}L + ½s] = ½ − ½e^{-s}L
    s = wrapper.balancer.log_vars.detach().double()
    grad_s = 0.5 - 0.5 * torch.exp(torch.tensor(-0.2).double()) * \
        pieces['values']
    torch.testing.assert_close(s, 0.2 - grad_s, rtol=1e-6, atol=1e-6)
    assert len(wrapper.optimizer.param_groups) == 2
    assert wrapper.optimizer.param_groups[1]['weight_decay'] == 0.0


def test_gradnorm_uses_task_gradients():
    model = new_model(reg=False)
    x, y, labelled = make_data(seed=3)
    ref_model = copy.deepcopy(model)
    pieces = reference_pieces(ref_model, x, y, labelled)
    wrapper = build(model, dict(type='GradNorm'))
    before = snapshot(model)
    model.step(wrapper, x, y, labelled)
    deltas = param_deltas(before, model)
    # uniform weights at init: shared gets Σ ∇L_k, heads their own gradient
    for n, e in split_shared(model, pieces['jac'].sum(0)).items():
        torch.testing.assert_close(deltas[n], e, **TOL)
    check_heads(model, pieces, deltas, [1.0] * 3)
    norms = pieces['jac'].norm(dim=1)
    # L(0) = L: target = mean(norms); d/dℓ of Σ|w_i n_i − target|
    logits = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    wts = 3 * torch.softmax(logits, 0)
    (wts * norms - norms.mean()).abs().sum().backward()
    torch.testing.assert_close(wrapper.balancer.logits.detach().double(),
                               -logits.grad, rtol=1e-6, atol=1e-7)


def test_dbmtl_heads_get_log_gradients():
    model = new_model(reg=False)
    x, y, labelled = make_data(seed=4)
    ref_model = copy.deepcopy(model)
    pieces = reference_pieces(ref_model, x, y, labelled)
    wrapper = build(model, dict(type='DBMTL'))
    before = snapshot(model)
    model.step(wrapper, x, y, labelled)
    deltas = param_deltas(before, model)
    check_heads(model, pieces, deltas, 1 / (pieces['values'] + 1e-8))


def test_accumulation_combines_per_micro_batch():
    model = new_model()
    data = [make_data(seed=5), make_data(seed=6)]
    ref_model = copy.deepcopy(model)
    expected = 0
    for x, y, labelled in data:
        pieces = reference_pieces(ref_model, x, y, labelled)
        expected = expected + combine(IMTLG(), pieces['jac']).update + \
            flat_shared_reg(ref_model, pieces)
    expected = expected / 2
    wrapper = build(model, dict(type='IMTLG'), accumulative_counts=2)
    before = snapshot(model)
    model.step(wrapper, *data[0])
    assert all(torch.equal(before[n], p) for n, p in
               model.named_parameters())
    assert wrapper.inner_count == 1
    model.step(wrapper, *data[1])
    assert wrapper.inner_count == 2
    deltas = param_deltas(before, model)
    for n, e in split_shared(model, expected).items():
        torch.testing.assert_close(deltas[n], e, **TOL)
    # gradients were cleared after the step
    assert all(p.grad is None or not p.grad.any()
               for p in model.parameters())


@BALANCERS.register_module(force=True)
class _RecordingBalancer(GramianBalancer):
    """Records what it is given; weights 1 (sum)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def weights_from_gramian(self, gram, losses, tasks):
        self.calls.append((gram.clone(), losses.clone(), tasks.clone()))
        return torch.ones(gram.shape[0], dtype=gram.dtype)


def test_globally_active_task_without_local_samples():
    """A task labelled elsewhere in the global batch keeps a (zero) row."""
    model = new_model()
    x, y, labelled = make_data(seed=7)
    labelled[:, 2] = False
    counts = labelled.sum(0).double()
    counts[2] = 4  # other ranks hold 4 labelled samples of t2
    wrapper = build(model, dict(type='_RecordingBalancer'))
    model.step(wrapper, x, y, labelled, counts=counts)
    gram, losses, tasks = wrapper.balancer.calls[0]
    assert tasks.tolist() == [0, 1, 2]
    assert gram[2].abs().sum() == 0 and losses[2] == 0


def test_state_dict_round_trip_resumes_exactly():
    data = [make_data(seed=s) for s in range(8, 12)]
    model_a = new_model()
    model_b = copy.deepcopy(model_a)
    opt_a = dict(type='Adam', lr=1e-2)

    def wrapper_for(model):
        return build_optim_wrapper(
            model,
            dict(
                type='MultiTaskOptimWrapper',
                constructor='MultiTaskOptimWrapperConstructor',
                optimizer=opt_a,
                balancer=dict(type='Uncertainty')))

    init_default_scope('mtlpartial')
    wa = wrapper_for(model_a)
    for d in data[:2]:
        model_a.step(wa, *d)
    state = copy.deepcopy(wa.state_dict())
    model_b.load_state_dict(model_a.state_dict())
    wb = wrapper_for(model_b)  # set up for the model's tasks at once
    assert wb.balancer.num_tasks == 3
    assert len(wb.optimizer.param_groups) == 2
    wb.load_state_dict(state)
    assert len(wb.optimizer.param_groups) == 2
    torch.testing.assert_close(wb.balancer.log_vars, wa.balancer.log_vars)
    for d in data[2:]:
        model_a.step(wa, *d)
        model_b.step(wb, *d)
    for (n, pa), pb in zip(model_a.named_parameters(), model_b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0, msg=n)
    torch.testing.assert_close(wb.balancer.log_vars, wa.balancer.log_vars,
                               rtol=0, atol=0)


def test_stateful_gradient_balancer_state_in_checkpoint():
    model = new_model()
    wrapper = build(model, dict(type='GradVac', beta=0.5, seed=1))
    for s in range(3):
        model.step(wrapper, *make_data(seed=s))
    state = copy.deepcopy(wrapper.state_dict())
    clone = new_model(seed=5)
    clone.load_state_dict(model.state_dict())
    other = build(clone, dict(type='GradVac', beta=0.5, seed=99))
    other.load_state_dict(state)
    torch.testing.assert_close(other.balancer.rho, wrapper.balancer.rho)
    d = make_data(seed=20)
    model.step(wrapper, *d)
    clone.step(other, *d)
    for pa, pb in zip(model.parameters(), clone.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)


def test_nash_mtl_wrapper_clips_update():
    model = new_model(reg=False)
    x, y, labelled = make_data(seed=13)
    ref_model = copy.deepcopy(model)
    pieces = reference_pieces(ref_model, x, y, labelled)
    expected = combine(NashMTL(), pieces['jac']).update
    wrapper = build(model, dict(type='NashMTL'))
    before = snapshot(model)
    model.step(wrapper, x, y, labelled)
    deltas = param_deltas(before, model)
    for n, e in split_shared(model, expected).items():
        torch.testing.assert_close(deltas[n], e, rtol=1e-7, atol=1e-9)
    assert abs(float(expected.norm()) - 1.0) < 1e-9


def test_config_build_and_errors():
    init_default_scope('mtlpartial')
    model = new_model()
    wrapper = build_optim_wrapper(
        model,
        dict(
            type='MultiTaskOptimWrapper',
            constructor='MultiTaskOptimWrapperConstructor',
            optimizer=dict(type='SGD', lr=0.1),
            balancer=dict(type='CAGrad'),
            clip_grad=dict(max_norm=1.0),
            paramwise_cfg=dict(custom_keys={'heads': dict(lr_mult=2.0)})))
    assert isinstance(wrapper, MultiTaskOptimWrapper)
    model.step(wrapper, *make_data())
    # the losses carry every task, in task order
    with pytest.raises(ValueError, match='1 task losses for the 3 tasks'):
        MultiTaskLosses(('t0', 't1', 't2'), (torch.ones(()), ),
                        torch.ones(3, dtype=torch.bool))
    with pytest.raises(TypeError, match='MultiTaskLosses'):
        wrapper.update_multitask({'loss_t0': torch.ones(())})
    with pytest.raises(TypeError, match='balancer'):
        build(model, balancer=3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='AMP needs CUDA')
def test_amp_wrapper_matches_fp32():
    torch.manual_seed(0)
    model = FakeMultiTaskModel().cuda()
    clone = copy.deepcopy(model)
    x, y, labelled = (t.float().cuda() if t.is_floating_point() else t.cuda()
                      for t in make_data())
    fp32 = build(model, dict(type='PCGrad', seed=0))
    amp = build(clone, dict(type='PCGrad', seed=0),
                type='MultiTaskAmpOptimWrapper', loss_scale=1024.)
    model.step(fp32, x, y, labelled)
    clone.step(amp, x, y, labelled)
    for pa, pb in zip(model.parameters(), clone.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)


def test_constructor_sizes_the_balancer_and_its_param_group():
    init_default_scope('mtlpartial')
    model = new_model()
    cfg = dict(type='MultiTaskOptimWrapper',
               constructor='MultiTaskOptimWrapperConstructor',
               optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-4),
               balancer=dict(type='Uncertainty'))
    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg))
    assert wrapper.balancer.num_tasks == len(model.task_names)
    group = wrapper.optimizer.param_groups[-1]
    assert group['params'] == [wrapper.balancer.log_vars]
    assert group['lr'] == 0.1 and group['weight_decay'] == 0.0
    cfg['paramwise_cfg'] = dict(
        custom_keys=dict(balancer=dict(lr_mult=2.5, decay_mult=1.0)))
    group = build_optim_wrapper(
        new_model(), cfg).optimizer.param_groups[-1]
    assert group['lr'] == pytest.approx(0.25)
    assert group['weight_decay'] == pytest.approx(1e-4)
    # gradient methods get the shared parameters from the model
    wrapper = build(model, dict(type='PCGrad'))
    assert [id(p) for p in wrapper.shared_params] == \
        [id(p) for p in model.shared_parameters()]
    with pytest.raises(KeyError, match='num_tasks'):
        build(model, dict(type='EW', num_tasks=3))
