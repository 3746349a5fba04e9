# Copyright (c) mtlpartial contributors. All rights reserved.
import os.path as osp

import numpy as np
import pytest

from tests.utils.tiny_runs import ROOT as REPO
from tests.utils.tool_modules import load_tool as _load


def load_tool():
    return _load('tools/misc/class_weights.py')


def test_median_frequency_by_hand():
    tool = load_tool()
    # image 1: 3 px of class 0, 1 px of class 1; image 2: 4 px of class 0;
    # one ignored pixel that counts nowhere
    maps = [np.array([[0, 0], [0, 1]]), np.array([[0, 0], [0, 255], [0, 0]])]
    class_pixels, present = tool.count_pixels(maps, num_classes=2)
    assert class_pixels.tolist() == [8, 1]
    assert present.tolist() == [9, 4]  # class 1 appears in image 1 only
    freq = np.array([8 / 9, 1 / 4])
    expected = np.median(freq) / freq
    assert np.allclose(tool.median_frequency_weights(class_pixels, present),
                       expected)


def test_missing_class_and_bad_label_are_errors():
    tool = load_tool()
    with pytest.raises(ValueError, match=r'classes \[1\] never appear'):
        tool.median_frequency_weights([5, 0], [5, 5])
    with pytest.raises(ValueError, match='label values must be in'):
        tool.count_pixels([np.array([[0, 3]])], num_classes=2)


def tiny_config(folder, setting: str, num_images: int):
    """A synthetic supervised config of ``num_images`` training scenes."""
    base = osp.join(REPO, 'configs', 'supervised',
                    f'supervised_segnet-small_1xb10-demo_synthetic_{setting}.py')
    cfg = folder / 'tiny.py'
    cfg.write_text(f"_base_ = ['{base}']\n"
                   'train_dataloader = dict(dataset=dict('
                   f'num_images={num_images}))\n')
    return cfg


def test_tool_counts_only_labelled_images(tmp_path, capsys):
    tool = load_tool()
    cfg = tiny_config(tmp_path, 'onelabel', 12)
    every = tool.main([str(cfg), '--every-label'])
    assert 'class_weight=(' in capsys.readouterr().out
    onelabel = tool.main([str(cfg)])
    assert every.shape == onelabel.shape == (6, )
    # onelabel keeps the segmentation of about a third of the images, so
    # its frequencies (and weights) differ from those of every image
    assert not np.allclose(every, onelabel)
    with pytest.raises(KeyError, match='task "edge" not in'):
        tool.main([str(cfg), '--task', 'edge'])
    with pytest.raises(TypeError, match='task "depth" is a DepthTask'):
        tool.main([str(cfg), '--task', 'depth'])


def test_cfg_options_change_the_counted_scenes(tmp_path, capsys):
    tool = load_tool()
    cfg = tiny_config(tmp_path, 'full', 8)
    default = tool.main([str(cfg)])
    # the protocol's panels are 1.5x: at 1x (the generator's default) there
    # are fewer panel pixels where panels appear, so a larger panel weight
    # (class 5)
    smaller = tool.main([
        str(cfg), '--cfg-options',
        'train_dataloader.dataset.scene.panel_scale=1.0'
    ])
    capsys.readouterr()
    assert smaller[5] > default[5]
