# Copyright (c) mtlpartial contributors. All rights reserved.
import math
import pickle
from itertools import chain, zip_longest

import pytest
import torch
import torch.nn.functional as F
from mmengine.evaluator import Evaluator

from mtlpartial.evaluation import MultiTaskMetric
from mtlpartial.evaluation.functional import (DepthMeter, NormalMeter,
                                              SemSegMeter, delta_percent)
from mtlpartial.evaluation.metrics import SparseStat, pack_stats, unpack_stats
from mtlpartial.registry import METRICS
from mtlpartial.structures import MultiTaskDataSample
from mtlpartial.tasks import build_tasks

TASKS = dict(
    semseg=dict(type='SemSegTask', num_classes=4),
    depth=dict(type='DepthTask'),
    normal=dict(type='NormalTask'),
    sal=dict(type='BinaryTask', metric='maxF'),
    edge=dict(type='BinaryTask', metric='odsF'))
ALL = tuple(TASKS)
BASELINE = {
    'semseg/mIoU': 30.0,
    'depth/abs_err': 0.5,
    'normal/mean': 60.0,
    'sal/maxF': 50.0,
    'edge/odsF': 40.0
}


def random_pair(task, g, h, w):
    """(gt (1, C, H, W), pred (C, H, W)) of one task."""
    if task == 'semseg':
        gt = torch.randint(0, 4, (1, 1, h, w), generator=g)
        gt[torch.rand(gt.shape, generator=g) < 0.1] = 255
        return gt, torch.randint(0, 4, (1, h, w), generator=g)
    if task == 'depth':
        gt = torch.rand(1, 1, h, w, generator=g) * 4
        gt[gt < 0.5] = 0
        return gt, torch.rand(1, h, w, generator=g) * 4
    if task == 'normal':
        gt = F.normalize(torch.randn(1, 3, h, w, generator=g), dim=1)
        pred = F.normalize(gt[0] + torch.randn(3, h, w, generator=g), dim=0)
        return gt, pred
    gt = (torch.rand(1, 1, h, w, generator=g) > 0.8).float()
    return gt, torch.rand(1, h, w, generator=g)


def make_samples(labelled, seed=0, h=12, w=10, as_dict=True):
    g = torch.Generator().manual_seed(seed)
    out = []
    for names in labelled:
        s = MultiTaskDataSample(
            metainfo=dict(tasks=ALL, labelled_tasks=tuple(names)))
        for task in ALL:
            gt, pred = random_pair(task, g, h, w)
            if task in names:
                s.set_gt(task, gt)
            s.set_pred(task, pred)
        out.append(s.to_dict() if as_dict else s)
    return out


LABELLED = [ALL, ('semseg', 'depth'), ('normal', 'sal', 'edge'), ALL,
            ('depth', ), ()]


def run(metric, batches):
    for batch in batches:
        metric.process(None, batch)
    results = list(metric.results)
    metric.results.clear()
    return metric.compute_metrics(results)


def test_two_batches_equal_one_batch_and_pooled_meters():
    samples = make_samples(LABELLED)
    one = run(MultiTaskMetric(TASKS), [samples])
    two = run(MultiTaskMetric(TASKS), [samples[:2], samples[2:]])
    assert one.keys() == two.keys()
    for key in one:
        assert one[key] == pytest.approx(two[key], rel=1e-6), key
    # equals one meter fed with every labelled sample at once
    for task, meter in (('semseg', SemSegMeter(4)), ('depth', DepthMeter()),
                        ('normal', NormalMeter())):
        idx = [i for i, names in enumerate(LABELLED) if task in names]
        meter.update(
            torch.stack([samples[i][f'pred_{task}'] for i in idx]),
            torch.cat([samples[i][f'gt_{task}'] for i in idx]))
        for key, value in meter.compute().items():
            assert one[f'{task}/{key}'] == pytest.approx(value), key


def dist_collect(parts, size):
    """mmengine collect_results_cpu: interleave ranks, drop padding."""
    parts = [pickle.loads(pickle.dumps(p)) for p in parts]
    ordered = [r for r in chain.from_iterable(zip_longest(*parts))
               if r is not None]
    return ordered[:size]


def test_ddp_style_merge_drops_sampler_padding():
    labelled = LABELLED[:5]
    samples = make_samples(labelled, seed=1)
    expected = run(MultiTaskMetric(TASKS), [samples])
    # DefaultSampler(shuffle=False, round_up=True), 2 ranks, 5 samples:
    # indices [0, 1, 2, 3, 4, 0]; rank 0 gets 0, 2, 4 and rank 1 1, 3, 0
    rank_batches = [[[samples[0], samples[2]], [samples[4]]],
                    [[samples[1], samples[3]], [samples[0]]]]
    parts = []
    for batches in rank_batches:
        metric = MultiTaskMetric(TASKS)
        for batch in batches:
            metric.process(None, batch)
        parts.append(list(metric.results))
    assert [len(p) for p in parts] == [3, 3]  # one entry per sample
    merged = MultiTaskMetric(TASKS).compute_metrics(dist_collect(parts, 5))
    for key in expected:
        assert merged[key] == pytest.approx(expected[key], rel=1e-6), key
    # keeping the padded duplicate would count sample 0 twice
    padded = MultiTaskMetric(TASKS).compute_metrics(dist_collect(parts, 6))
    assert padded['depth/abs_err'] != pytest.approx(expected['depth/abs_err'])


def test_skips_unlabelled_tasks_and_missing_delta():
    samples = make_samples([('depth', ), ('depth', 'semseg')])
    metric = MultiTaskMetric(TASKS, baseline=BASELINE)
    out = run(metric, [samples])
    assert 'depth/abs_err' in out and 'semseg/mIoU' in out
    assert not any(k.startswith(('normal/', 'sal/', 'edge/')) for k in out)
    assert 'delta' not in out  # metrics of unlabelled tasks are missing
    # only sample 1 contributes to semseg
    meter = SemSegMeter(4)
    meter.update(samples[1]['pred_semseg'][None], samples[1]['gt_semseg'])
    assert out['semseg/mIoU'] == pytest.approx(meter.compute()['mIoU'])


def test_delta_and_delta_keys():
    samples = make_samples([ALL, ALL], seed=2)
    out = run(MultiTaskMetric(TASKS, baseline=BASELINE), [samples])
    dirs = {'semseg/mIoU': True, 'depth/abs_err': False,
            'normal/mean': False, 'sal/maxF': True, 'edge/odsF': True}
    assert out['delta'] == pytest.approx(
        delta_percent(out, BASELINE, dirs))
    # depth by abs_err and rmse, normals and edges left out
    base = {'semseg/mIoU': 30.0, 'depth/abs_err': 0.5, 'depth/rmse': 0.8,
            'sal/maxF': 50.0}
    metric = MultiTaskMetric(
        TASKS, baseline=base,
        delta_keys=dict(depth=['abs_err', 'rmse'], normal=None, edge=[]))
    out2 = run(metric, [samples])
    assert out2['delta'] == pytest.approx(delta_percent(
        out2, base, dict(dirs, **{'depth/rmse': False})))
    assert 'yes' in metric._summary_table(out2)
    assert 'delta (%)' in metric._summary_table(out2)


def test_config_errors():
    with pytest.raises(ValueError, match=r"missing \['edge/odsF'\]"):
        MultiTaskMetric(TASKS, baseline={
            k: v for k, v in BASELINE.items() if k != 'edge/odsF'})
    with pytest.raises(ValueError, match=r"unexpected \['depth/rmse'\]"):
        MultiTaskMetric(TASKS, baseline=dict(BASELINE, **{'depth/rmse': 1}))
    with pytest.raises(ValueError, match='unknown task "foo"'):
        MultiTaskMetric(TASKS, delta_keys=dict(foo='mIoU'))
    with pytest.raises(ValueError, match='task "depth" has no metric'):
        MultiTaskMetric(TASKS, delta_keys=dict(depth='mIoU'))
    with pytest.raises(ValueError, match='non-zero'):
        MultiTaskMetric(TASKS, baseline=dict(BASELINE, **{'sal/maxF': 0}))
    with pytest.raises(ValueError, match='task "depth": bad meter options'):
        MultiTaskMetric(TASKS, meters=dict(depth=dict(foo=1)))
    with pytest.raises(ValueError, match='unknown tasks'):
        MultiTaskMetric(TASKS, meters=dict(foo=dict()))


def test_bad_predictions_name_the_task():
    samples = make_samples([ALL])
    wrong = dict(samples[0], pred_depth=torch.rand(1, 6, 5))
    with pytest.raises(ValueError, match=r'task "depth": prediction shape '
                       r'\(1, 6, 5\) does not match the ground truth \(view '
                       r'0\) shape \(1, 12, 10\)'):
        MultiTaskMetric(TASKS).process(None, [wrong])
    logits = dict(samples[0], pred_sal=samples[0]['pred_sal'] * 5 - 2)
    with pytest.raises(ValueError, match='task "sal".*probabilities'):
        MultiTaskMetric(TASKS).process(None, [logits])
    missing = {k: v for k, v in samples[0].items() if k != 'pred_normal'}
    with pytest.raises(KeyError, match='task "normal"'):
        MultiTaskMetric(TASKS).process(None, [missing])


def test_meter_options_and_multi_view_gt():
    samples = make_samples([ALL], seed=3)
    s = dict(samples[0])
    s['pred_depth'] = s['pred_depth'] - 2  # some negative predictions
    # a second view must be ignored
    s['gt_depth'] = torch.cat([s['gt_depth'], s['gt_depth'] * 0 + 9])
    plain = run(MultiTaskMetric(TASKS), [[s]])
    official = run(
        MultiTaskMetric(TASKS, meters=dict(depth=dict(clamp_pred=1e-9))),
        [[s]])
    meter = DepthMeter()
    meter.update(s['pred_depth'][None], s['gt_depth'][:1])
    assert plain['depth/abs_err'] == pytest.approx(
        meter.compute()['abs_err'])
    assert official['depth/abs_err'] < plain['depth/abs_err']


def test_registry_and_evaluator():
    metric = METRICS.build(dict(type='MultiTaskMetric', tasks=TASKS,
                                baseline=BASELINE))
    assert isinstance(metric, MultiTaskMetric)
    evaluator = Evaluator([dict(type='mtlpartial.MultiTaskMetric', tasks=TASKS,
                                baseline=BASELINE)])
    samples = make_samples(LABELLED, seed=4, as_dict=False)
    evaluator.process(samples[:3], None)
    evaluator.process(samples[3:], None)
    out = evaluator.evaluate(len(samples))
    expected = run(MultiTaskMetric(TASKS, baseline=BASELINE),
                   [make_samples(LABELLED, seed=4)])
    assert out.keys() == expected.keys()
    # chunked vs one-shot accumulation: float32 sums differ in the last bits
    assert all(math.isclose(out[k], expected[k], rel_tol=1e-7) for k in out)
    prefixed = run(MultiTaskMetric(TASKS, prefix='val'), [samples])
    assert 'semseg/mIoU' in prefixed  # the prefix is added by evaluate()


def test_compact_stats_roundtrip():
    samples = make_samples([ALL], seed=5)
    metric = MultiTaskMetric(TASKS)
    metric.process(None, samples)
    entry = pickle.loads(pickle.dumps(metric.results[0]))
    assert isinstance(entry['normal']['hist'], SparseStat)
    meter = NormalMeter()
    stats = meter.sample_stats(samples[0]['pred_normal'][None],
                               samples[0]['gt_normal'])
    dense = unpack_stats(entry['normal'])
    for key, value in stats.items():
        assert torch.equal(dense[key], value[0]), key
    small = pack_stats({'x': torch.arange(5)})
    assert torch.equal(small['x'], torch.arange(5))


def test_class_metrics_output_every_class_iou():
    samples = make_samples([ALL], seed=6)
    plain = run(MultiTaskMetric(TASKS), [samples])
    out = run(MultiTaskMetric(TASKS, class_metrics=True), [samples])
    names = build_tasks(TASKS)['semseg'].class_names
    keys = [f'semseg/IoU.{c}' for c in names]
    assert all(k in out for k in keys) and not any(k in plain for k in keys)
    ious = [out[k] for k in keys if not math.isnan(out[k])]
    assert sum(ious) / len(ious) == pytest.approx(out['semseg/mIoU'])
