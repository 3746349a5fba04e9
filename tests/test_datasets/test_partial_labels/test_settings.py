# Copyright (c) mtlpartial contributors. All rights reserved.
import numpy as np
import pytest

from mtlpartial.datasets.partial_labels import (BasePartialLabels, Full,
                                                HalfLabels, OneLabel,
                                                RandomLabels, Ratio,
                                                check_label_mask)

T3 = ('semseg', 'depth', 'normal')
T5 = ('a', 'b', 'c', 'd', 'e')


@pytest.mark.parametrize('setting', [
    Full(), OneLabel(3), RandomLabels(3), HalfLabels(3),
    Ratio(dict(semseg=0.5, depth=0.3, normal=0.4), seed=3)
])
def test_common_contract(setting):
    mask = setting.make_mask(T3, 101)
    assert mask.dtype == np.bool_ and mask.shape == (101, 3)
    assert mask.any(1).all()
    # pure function of the seed, independent of the global RNG
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    again = setting.make_mask(list(T3), 101)
    assert np.array_equal(mask, again)
    assert np.array_equal(np.random.get_state()[1], state)


def test_full():
    assert Full().make_mask(T3, 4).all()


@pytest.mark.parametrize('num_images,tasks', [(795, T3), (2975, T3[:2]),
                                              (4998, T5), (7, T5), (1, T3)])
def test_onelabel_exactly_balanced(num_images, tasks):
    mask = OneLabel(seed=1).make_mask(tasks, num_images)
    assert (mask.sum(1) == 1).all()
    counts = mask.sum(0)
    assert counts.sum() == num_images
    assert counts.max() - counts.min() <= 1


def test_onelabel_random_and_seeded():
    a = OneLabel(0).make_mask(T3, 795)
    b = OneLabel(1).make_mask(T3, 795)
    assert not np.array_equal(a, b)
    # not a cyclic i mod K pattern
    cyclic = np.eye(3, dtype=bool)[np.arange(795) % 3]
    assert (a != cyclic).any(1).mean() > 0.5
    assert np.array_equal(a.sum(0), [265, 265, 265])


def test_randomlabels_distribution():
    mask = RandomLabels(seed=0).make_mask(T5, 20000)
    n = mask.sum(1)
    assert n.min() == 1 and n.max() == 4
    # n ~ U{1..K-1}: each size has probability 1/4
    freq = np.bincount(n, minlength=5)[1:] / len(n)
    assert np.abs(freq - 0.25).max() < 0.02
    # uniform subsets: every task labelled with probability 2.5 / 5 = 0.5
    assert np.abs(mask.mean(0) - 0.5).max() < 0.02
    # among 1-label images, each task equally likely
    one = mask[n == 1]
    assert np.abs(one.mean(0) - 0.2).max() < 0.03


def test_randomlabels_k2_is_onelabel_and_k1_fails():
    assert np.array_equal(
        RandomLabels(5).make_mask(T3[:2], 2975),
        OneLabel(5).make_mask(T3[:2], 2975))
    with pytest.raises(ValueError, match='at least 2 tasks'):
        RandomLabels().make_mask(('semseg', ), 10)


@pytest.mark.parametrize('tasks', [T3[:1], T3[:2], T3, T5, T5 + ('f', )])
def test_halflabels_rule(tasks):
    k = len(tasks)
    mask = HalfLabels(seed=2).make_mask(tasks, 101)
    n = mask.sum(1)
    if k == 1:
        assert mask.all()
    elif k % 2 == 0:
        assert (n == k // 2).all()
    else:
        assert set(np.unique(n)) == {k // 2, k // 2 + 1}
        assert (n == k // 2 + 1).sum() == 101 // 2
    assert n.min() >= 1


def test_ratio_exclusive_when_sum_is_one():
    mask = Ratio(dict(semseg=0.9, depth=0.1), seed=0).make_mask(
        ('semseg', 'depth'), 2975)
    assert (mask.sum(1) == 1).all()
    assert mask.sum(0).tolist() == [2678, 297]  # 2677.5 -> 2678, 297.5 -> 297
    mask = Ratio(dict(semseg=0.1, depth=0.9)).make_mask(('semseg', 'depth'),
                                                        1000)
    assert mask.sum(0).tolist() == [100, 900]


def test_ratio_overlapping_exact_counts():
    ratios = dict(semseg=0.9, depth=0.5, normal=0.05)
    mask = Ratio(ratios, seed=4).make_mask(T3, 1000)
    assert mask.sum(0).tolist() == [900, 500, 50]
    assert mask.any(1).all()
    assert Ratio(dict(semseg=1.0, depth=0.0)).make_mask(
        ('semseg', 'depth'), 5).tolist() == [[True, False]] * 5


def test_ratio_errors():
    with pytest.raises(ValueError, match='sum to at least 1'):
        Ratio(dict(semseg=0.5, depth=0.3)).make_mask(('semseg', 'depth'), 10)
    with pytest.raises(ValueError, match=r"unknown \['seg'\].*missing"):
        Ratio(dict(seg=0.5, depth=0.6)).make_mask(('semseg', 'depth'), 10)
    with pytest.raises(ValueError, match='fraction'):
        Ratio(dict(semseg=9, depth=1))
    with pytest.raises(TypeError):
        Ratio([0.9, 0.1])


def test_bad_inputs():
    with pytest.raises(ValueError, match='seed'):
        OneLabel(seed=-1)
    with pytest.raises(ValueError, match='num_images'):
        OneLabel().make_mask(T3, 0)
    with pytest.raises(TypeError, match='string'):
        OneLabel().make_mask('semseg', 3)
    with pytest.raises(ValueError, match='duplicate'):
        OneLabel().make_mask(('a', 'a'), 3)
    with pytest.raises(ValueError, match='2 image ids for 3 images'):
        OneLabel().make_mask(T3, 3, image_ids=['x', 'y'])


def test_image_without_label_is_reported():

    class Broken(BasePartialLabels):

        def _make_mask(self, task_names, num_images, image_ids):
            mask = np.ones((num_images, len(task_names)), dtype=bool)
            mask[2] = False
            return mask

    with pytest.raises(ValueError, match=r"Broken\(\): image 2 \(id 'c'\) "
                       'has no labelled task'):
        Broken().make_mask(('x', 'y'), 4, image_ids=list('abcd'))
    with pytest.raises(ValueError, match='0/1'):
        check_label_mask(np.full((2, 2), 2), ('x', 'y'), 2, 'm')
    with pytest.raises(ValueError, match=r'shape \(2, 2\), expected \(3, 2\)'):
        check_label_mask(np.ones((2, 2)), ('x', 'y'), 3, 'm')
