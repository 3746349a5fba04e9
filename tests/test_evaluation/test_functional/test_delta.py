# Copyright (c) mtlpartial contributors. All rights reserved.
import pytest

from mtlpartial.evaluation.functional import delta_percent

NYU_DIRS = {
    'semseg/mIoU': True,
    'depth/abs_err': False,
    'normal/mean': False
}
# JTR poster, NYUv2 randomlabels, baseline = supervised partial-label MTL
JTR_NYU_RANDOM = {
    'semseg/mIoU': 27.05,
    'depth/abs_err': 0.6624,
    'normal/mean': 33.58
}


def test_sign_conventions():
    base = {'a': 40.0, 'b': 0.5}
    dirs = {'a': True, 'b': False}
    # +10% on a higher-is-better and -10% on a lower-is-better metric are
    # both improvements
    assert delta_percent({'a': 44.0, 'b': 0.45}, base, dirs) == \
        pytest.approx(10.0)
    assert delta_percent({'a': 36.0, 'b': 0.55}, base, dirs) == \
        pytest.approx(-10.0)
    assert delta_percent(base, base, dirs) == 0.0
    # extra result keys are ignored, only the baseline metrics count
    assert delta_percent({'a': 44.0, 'b': 0.5, 'c': 1.0}, base, dirs) == \
        pytest.approx(5.0)


def test_reproduces_published_deltas():
    mtpsl = {'semseg/mIoU': 35.60, 'depth/abs_err': 0.5576,
             'normal/mean': 29.70}
    jtr = {'semseg/mIoU': 37.08, 'depth/abs_err': 0.5541,
           'normal/mean': 29.44}
    # poster: MTPSL +19.66, JTR +21.92
    assert delta_percent(mtpsl, JTR_NYU_RANDOM, NYU_DIRS) == \
        pytest.approx(19.66, abs=0.005)
    assert delta_percent(jtr, JTR_NYU_RANDOM, NYU_DIRS) == \
        pytest.approx(21.92, abs=0.005)
    # Cityscapes onelabel: MTPSL +6.702 vs supervised MTL 69.50 / 0.0186
    cs = delta_percent({'semseg/mIoU': 72.09, 'depth/abs_err': 0.0168},
                       {'semseg/mIoU': 69.50, 'depth/abs_err': 0.0186},
                       NYU_DIRS)
    assert cs == pytest.approx(6.702, abs=0.0005)


def test_errors():
    with pytest.raises(KeyError, match='missing from the results'):
        delta_percent({}, {'a': 1.0}, {'a': True})
    with pytest.raises(KeyError, match='no direction'):
        delta_percent({'a': 1.0}, {'a': 1.0}, {})
    with pytest.raises(ValueError, match='non-zero'):
        delta_percent({'a': 1.0}, {'a': 0.0}, {'a': True})
    with pytest.raises(ValueError, match='empty'):
        delta_percent({'a': 1.0}, {}, {})
