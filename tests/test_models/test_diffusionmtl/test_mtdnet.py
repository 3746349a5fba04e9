# Copyright (c) mtlpartial contributors. All rights reserved.
"""MTDNet: multi-task conditioning, batching and the sampling chain."""
import pytest
import torch

from mtlpartial.models.diffusion import MTDNet

TASKS = dict(semseg=4, depth=1, normal=3)


def build(mode='feature', **kwargs):
    torch.manual_seed(0)
    cfg = dict(task_channels=TASKS, embed_dims=16, mode=mode, depth=2,
               num_heads=2, mlp_ratio=2., head_channels=8)
    cfg.update(kwargs)
    return MTDNet(**cfg).eval()


def prelim(n=2, h=8, w=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {t: torch.randn(n, c, h, w, generator=g) for t, c in TASKS.items()}


def run(net, preds, feats, seed=0):
    cond = net.condition(preds)
    starts = feats if net.mode == 'feature' else preds
    torch.manual_seed(seed)  # same diffusion noise in every call
    return net(starts, {t: cond for t in starts})


@pytest.mark.parametrize('mode', ['feature', 'prediction'])
def test_every_task_conditions_every_denoised_map(mode):
    """Changing one task's preliminary prediction changes the denoised
    output of every other task (the multi-task condition); this fails if
    the condition ignored a task's map."""
    net = build(mode)
    preds = prelim()
    feats = {t: torch.randn(2, 16, 8, 12) for t in TASKS}
    ref = run(net, preds, feats)
    for source in TASKS:
        changed = dict(preds)
        changed[source] = preds[source] + 1.0
        out = run(net, changed, feats)
        for target in TASKS:
            if target == source and mode == 'prediction':
                continue  # its own start changed too
            assert not torch.allclose(out[target], ref[target]), (
                f'{target} ignores the prediction of {source}')


def test_condition_is_detached_and_needs_all_tasks():
    net = build()
    preds = {t: p.requires_grad_() for t, p in prelim().items()}
    cond = net.condition(preds)
    grads = torch.autograd.grad(cond.sum(), list(preds.values()),
                                allow_unused=True)
    assert all(g is None for g in grads)  # official: inter_preds detached
    with pytest.raises(KeyError, match='depth'):
        net.condition({t: p for t, p in preds.items() if t != 'depth'})


def test_rows_and_tasks_batched_equal_one_row_one_task_at_a_time():
    """The official code denoises one (sample, task) at a time; batching
    rows and tasks through the shared blocks gives the same result."""
    net = build(num_timesteps=1)  # no noise at the last step: deterministic
    preds = prelim(n=3)
    feats = {t: torch.randn(3, 16, 8, 12) for t in TASKS}
    cond = net.condition(preds)
    # β_0 > 0 still noises the start: fix the noise through the RNG
    torch.manual_seed(0)
    noise = {t: torch.randn_like(f) for t, f in feats.items()}
    starts = {t: net.schedule.q_sample(feats[t], 0, noise[t]) for t in TASKS}
    batched = net.denoiser(starts, {t: cond for t in TASKS}, 0, True)
    for t in TASKS:
        for i in range(3):
            one = net.denoiser({t: starts[t][i:i + 1]}, {t: cond[i:i + 1]},
                               0, True)[t]
            torch.testing.assert_close(batched[t][i:i + 1], one, rtol=1e-5,
                                       atol=1e-6)


@pytest.mark.parametrize('mode', ['feature', 'prediction'])
@pytest.mark.parametrize('size', [(8, 12), (7, 10), (2, 3)])
def test_outputs_have_task_channels_at_any_latent_size(mode, size):
    """The official ×0.25 / ×4 resizes break on sizes not divisible by 4;
    here the tokens are resized back to the map size."""
    net = build(mode, num_timesteps=3)
    preds = prelim(h=size[0], w=size[1])
    feats = {t: torch.randn(2, 16, *size) for t in TASKS}
    out = run(net, preds, feats)
    for t, c in TASKS.items():
        assert out[t].shape == (2, c, *size)
        assert torch.isfinite(out[t]).all()


def test_subsets_of_rows_and_empty_tasks():
    net = build()
    preds = prelim(n=4)
    cond = net.condition(preds)
    feats = {t: torch.randn(4, 16, 8, 12) for t in TASKS}
    rows = dict(semseg=torch.tensor([0, 3]), depth=torch.tensor([], dtype=
                                                                torch.long))
    out = net({t: feats[t][i] for t, i in rows.items()},
              {t: cond[i] for t, i in rows.items()})
    assert set(out) == {'semseg'} and out['semseg'].shape == (2, 4, 8, 12)
    assert net({}, {}) == {}


def test_bad_configuration_is_rejected():
    with pytest.raises(ValueError, match='mode'):
        build('latent')
    with pytest.raises(ValueError, match='num_heads'):
        build(num_heads=3)
