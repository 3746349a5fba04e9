# Copyright (c) mtlpartial contributors. All rights reserved.
import numpy as np
import pytest
from mmengine.config import ConfigDict

from mtlpartial.datasets.partial_labels import (BasePartialLabels, Full,
                                                HalfLabels, MaskFile,
                                                OfficialMask, OneLabel,
                                                RandomLabels, Ratio,
                                                build_partial_labels)
from mtlpartial.registry import PARTIAL_LABELS


@pytest.mark.parametrize('cfg,cls', [
    (None, Full), ('full', Full), ('onelabel', OneLabel),
    ('randomlabels', RandomLabels), ('halflabels', HalfLabels),
    ('one_label', OneLabel), ('OneLabel', OneLabel),
    (dict(type='onelabel', seed=3), OneLabel),
    (ConfigDict(type='Ratio', ratios=dict(a=0.5, b=0.5)), Ratio),
    ('masks/run.npz', MaskFile), ('x/nyuv2_settings/onelabel.pth',
                                  OfficialMask),
    ('pascal_onelabel.npy', OfficialMask)
])
def test_build_forms(cfg, cls):
    setting = build_partial_labels(cfg)
    assert type(setting) is cls


def test_build_passes_arguments_and_instances():
    s = build_partial_labels(dict(type='RandomLabels', seed=7))
    assert s.seed == 7 and repr(s) == 'RandomLabels(seed=7)'
    inst = OneLabel(2)
    assert build_partial_labels(inst) is inst
    assert np.array_equal(
        build_partial_labels('onelabel').make_mask(('a', 'b'), 9),
        OneLabel(0).make_mask(('a', 'b'), 9))


def test_build_errors():
    with pytest.raises(KeyError, match='unknown partial-label setting'):
        build_partial_labels('twolabels')
    with pytest.raises(KeyError, match='no "type"'):
        build_partial_labels(dict(seed=1))
    with pytest.raises(TypeError, match='partial_labels must be'):
        build_partial_labels(3)


def test_plugin_setting_registered_from_outside():

    @PARTIAL_LABELS.register_module(force=True)
    class FirstTaskOnlyForTest(BasePartialLabels):
        """Label only the first task (a plugin's setting)."""

        def __init__(self, seed: int = 0) -> None:
            self.seed = seed

        def _make_mask(self, task_names, num_images, image_ids):
            mask = np.zeros((num_images, len(task_names)), dtype=bool)
            mask[:, 0] = True
            return mask

    try:
        for cfg in ('FirstTaskOnlyForTest',
                    dict(type='FirstTaskOnlyForTest', seed=1)):
            setting = build_partial_labels(cfg)
            mask = setting.make_mask(('a', 'b', 'c'), 4)
            assert mask[:, 0].all() and not mask[:, 1:].any()
    finally:
        PARTIAL_LABELS.module_dict.pop('FirstTaskOnlyForTest')


def test_plugin_without_make_mask_is_rejected():

    @PARTIAL_LABELS.register_module(force=True)
    class NoMaskForTest:
        pass

    try:
        with pytest.raises(TypeError, match='no make_mask'):
            build_partial_labels('NoMaskForTest')
    finally:
        PARTIAL_LABELS.module_dict.pop('NoMaskForTest')
