# Copyright (c) mtlpartial contributors. All rights reserved.
"""tools/analysis_tools/gradient_alignment_probe.py: the cosine kernel, a
regularizer whose push is known (towards or away from the withheld
label), the guards, and the command on the synthetic MTPSL config."""
import json
import math
import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope

from mtlpartial.models.regularizers.base_regularizer import BaseRegularizer
from mtlpartial.registry import MODELS
from mtlpartial.structures import MultiTaskDataSample
from tests.utils.demo_inputs import build_demo_model, make_packed_batch
from tests.utils.tiny_runs import ROOT as REPO
from tests.utils.tiny_runs import initial_checkpoint
from tests.utils.tool_modules import load_tool

tool = load_tool('tools/analysis_tools/gradient_alignment_probe.py',
                 'analysis_gradient_alignment_probe')
ALL = ('semseg', 'depth', 'normal')
# depth is withheld from images 0 and 2
LABELLED = [('semseg', ), ('depth', 'normal'), ('normal', )]
DEPTH = 3.0  # the withheld depth label: a constant map


@MODELS.register_module(force=True)
class PullDepthTo(BaseRegularizer):
    """Test regularizer: ``sign * mean((depth - value)^2)`` over the
    unlabelled depth predictions (sign +1 pulls them to ``value``)."""
    default_name = 'pull'
    num_views = 1

    def __init__(self, value: float, sign: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.value, self.sign = value, sign

    def forward(self, ctx):
        k = ctx.task_names.index('depth')
        rows = ~ctx.labelled[:, k]
        pred = ctx.preds[0]['depth'][rows]
        return dict(loss_pull=self.sign * (pred - self.value).pow(2).mean())


def withhold(full: dict, labelled) -> dict:
    """The batch with only ``labelled[i]``'s labels kept for image i."""
    samples = []
    for sample, names in zip(full['data_samples'], labelled):
        meta = dict(sample.metainfo, labelled_tasks=tuple(names))
        kept = MultiTaskDataSample(metainfo=meta)
        for name in names:
            kept.set_gt(name, sample.get_gt(name))
        samples.append(kept)
    return dict(inputs=[x.clone() for x in full['inputs']],
                data_samples=samples)


def paired(seed: int):
    full = make_packed_batch([ALL] * len(LABELLED), seed=seed)
    for sample in full['data_samples']:
        sample.set_gt('depth', torch.full_like(sample.get_gt('depth'),
                                               DEPTH))
    return withhold(full, LABELLED), full


def build_model(reg):
    init_default_scope('mtlpartial')
    torch.manual_seed(0)
    return build_demo_model(regularizers=[reg])


def test_gradient_agreement_kernel():
    g = torch.randn(3, 2, 4, 4)
    scaled = torch.stack([2 * g[0], -g[1], torch.zeros_like(g[2])])
    cos, ratio = tool.gradient_agreement(scaled, g)
    assert cos[0].item() == pytest.approx(1.0)
    assert cos[1].item() == pytest.approx(-1.0)
    assert math.isnan(cos[2].item())
    assert ratio.tolist() == pytest.approx([2.0, 1.0, 0.0])
    summary = tool.summarise(cos, ratio, cos_pooled=cos.flip(0))
    assert summary['items'] == 3 and summary['no_gradient'] == 1
    assert summary['cos_mean'] == pytest.approx(0.0)
    assert summary['cos_ci95'] == pytest.approx(1.96 * math.sqrt(2 / 2))
    assert summary['positive'] == pytest.approx(0.5)
    # pooled values are kept on the items that have a gradient (0, 1)
    assert summary['pooled_cos_mean'] == pytest.approx(-1.0)
    assert summary['norm_ratio_median'] == pytest.approx(1.0)
    empty = tool.summarise(cos[2:], ratio[2:], cos[2:])
    assert empty['cos_mean'] is None and empty['no_gradient'] == 1
    assert empty['pooled_cos_mean'] is None
    with pytest.raises(ValueError, match='shapes differ'):
        tool.gradient_agreement(g, g[:, :1])


@pytest.mark.parametrize('sign', [1.0, -1.0])
def test_probe_known_direction(sign):
    """Pulling the unlabelled depth to its withheld label agrees with the
    oracle (cos > 0 on every item); pushing it away disagrees. Items are
    (view, image, unlabelled task): depth is unlabelled on 2 images per
    batch; semseg and normal get no regularizer gradient."""
    model = build_model(dict(type='PullDepthTo', value=DEPTH, sign=sign))
    batches = [paired(0), paired(1)]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = tool.probe(model, batches)
    depth = out['view0/depth']
    assert depth['items'] == 4 and depth['no_gradient'] == 0
    assert depth['positive'] == (1.0 if sign > 0 else 0.0)
    assert sign * depth['cos_mean'] > 0.3
    assert sign * depth['pooled_cos_mean'] > 0.3
    assert depth['norm_ratio_median'] > 0
    assert out['view0/semseg']['no_gradient'] == 4
    assert out['view0/normal']['no_gradient'] == 2
    assert out['view0/semseg']['cos_mean'] is None
    assert out['all']['items'] == 10
    # the method is back; weights and running statistics are untouched
    # (restored after every batch), and the model is in train mode
    reg = model.regularizers[0]
    assert 'regularize' not in vars(reg)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert model.training


def test_probe_jtr_runs_on_every_view():
    """A real regularizer: JTR's gradient reaches view 1 (d1) only."""
    model = build_model(dict(type='JTR', channels=(8, 16),
                             convs_per_stage=(1, 1)))
    batches = []
    for seed in range(2):
        full = make_packed_batch([ALL] * len(LABELLED), model.num_views,
                                 seed=seed)
        batches.append((withhold(full, LABELLED), full))
    out = tool.probe(model, batches)
    assert out['view1/depth']['no_gradient'] == 0
    assert out['view2/depth']['no_gradient'] == 4
    assert -1.0 <= out['view1/depth']['cos_mean'] <= 1.0


def test_probe_warns_without_gradient_on_predictions():
    """DGR's penalty acts on the head inputs, not the predictions."""
    model = build_model(dict(type='DGR'))
    batches = []
    for seed in range(2):
        full = make_packed_batch([ALL] * len(LABELLED), model.num_views,
                                 seed=seed)
        batches.append((withhold(full, LABELLED), full))
    with pytest.warns(UserWarning, match="'dgr' \\(DGR\\) reaches none"):
        out = tool.probe(model, batches)
    assert out['all']['cos_mean'] is None
    assert out['all']['no_gradient'] == out['all']['items'] == 10


def test_probe_errors():
    model = build_model(dict(type='PullDepthTo', value=DEPTH))
    partial, _ = paired(0)
    _, other = paired(1)
    with pytest.raises(ValueError, match='different images'):
        tool.probe(model, [(partial, other)])
    with pytest.raises(KeyError, match="no regularizer 'jtr'"):
        tool.probe(model, [paired(0)], 'jtr')
    full = make_packed_batch([ALL] * 3)
    with pytest.raises(ValueError, match='no unlabelled'):
        tool.probe(model, [(withhold(full, [ALL] * 3), full)])
    partial, full = paired(0)
    short = withhold(full, [ALL, ALL, ('semseg', 'normal')])
    with pytest.raises(ValueError, match='lacks labels of task "depth"'):
        tool.probe(model, [(partial, short)])
    plain = build_demo_model()
    with pytest.raises(ValueError, match='has no regularizer'):
        tool.probe(plain, [paired(0)])


def test_main_synthetic_config(tmp_path):
    """The command end to end: the config's model from a checkpoint, one
    training batch drawn twice (partial and full labels, same images),
    the JSON written."""
    config = osp.join(REPO, 'configs', 'mtpsl', 'synthetic_onelabel_stable.py')
    ckpt = initial_checkpoint(config, str(tmp_path / 'model.pth'))
    out = str(tmp_path / 'probe.json')
    assert tool.main([config, ckpt, '--batches', '1', '--out', out]) == 0
    with open(out, encoding='utf-8') as f:
        result = json.load(f)
    agreement = result['agreement']
    assert agreement['all']['items'] > 0
    # MTPSL's cross-task term reaches the unlabelled predictions of view 1
    assert any(v['no_gradient'] < v['items'] for k, v in agreement.items()
               if k.startswith('view1/'))
    with pytest.raises(ValueError, match='--batches must be >= 1'):
        tool.main([config, ckpt, '--batches', '0'])
