# Copyright (c) mtlpartial contributors. All rights reserved.
"""The NYUv2, Cityscapes and PASCAL configs train a few iterations on tiny
datasets written in the MTAN .npy and PASCAL layouts (paper-size models,
except DiffusionMTL's denoiser, see :func:`narrow_diffusion`)."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from tests.utils.fake_datasets import (write_fake_cityscapes,
                                       write_fake_nyuv2, write_fake_pascal)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CASES = [
    ('supervised/nyuv2_onelabel.py', 'nyuv2'),
    ('mtpsl/nyuv2_onelabel.py', 'nyuv2'),
    ('jtr/nyuv2_random.py', 'nyuv2'),
    ('dgr/nyuv2_random.py', 'nyuv2'),
    ('supervised/cityscapes_onelabel.py', 'cityscapes'),
    ('mtpsl/cityscapes_onelabel.py', 'cityscapes'),
    ('supervised/pascal_onelabel.py', 'pascal'),
    ('ssl/pascal_random.py', 'pascal'),
    ('diffusionmtl/pascal_onelabel.py', 'pascal'),
    ('diffusionmtl/nyuv2_random_preddiff.py', 'nyuv2'),
]
WRITERS = dict(
    nyuv2=lambda r: write_fake_nyuv2(r, n_train=4, n_val=2, h=32, w=64),
    cityscapes=lambda r: write_fake_cityscapes(
        r, n_train=4, n_val=2, h=32, w=64),
    pascal=lambda r: write_fake_pascal(r, n_train=4, n_val=2, h=40, w=48))


def tiny(cfg, data_root):
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[key]
        loader.dataset.data_root = data_root
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.batch_size = 2
        for t in loader.dataset.pipeline:
            if t['type'] == 'Resize':
                t['size'] = (64, 64)
    # the official mask files have one row per real image: use a generated
    # mask of the same kind for the tiny dataset
    cfg.train_dataloader.dataset.partial_labels = dict(
        type='OneLabel', seed=0)
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 1
    cfg.default_hooks.logger.interval = 1
    cfg.param_scheduler = []


def narrow_diffusion(cfg, width=64):
    """DiffusionMTL at paper width is 133M parameters (its checkpoint with
    Adam state is 1.6 GB, most of this test's time); the paper-size model is
    built by tests/test_configs. Here the fused width shrinks to ``width``,
    everything else (backbone, data, schedule) stays as configured."""
    if cfg.model.type != 'DiffusionMTL':
        return
    cfg.model.neck.out_channels = width
    cfg.model.heads.in_channels = width
    cfg.model.diffusion.embed_dims = width
    cfg.model.diffusion.head_channels = width


@pytest.mark.parametrize('config,kind', CASES, ids=[c for c, _ in CASES])
def test_config_trains_on_tiny_dataset(tmp_path, config, kind):
    data_root = str(tmp_path / kind)
    WRITERS[kind](data_root)
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
    tiny(cfg, data_root)
    narrow_diffusion(cfg)
    if cfg.optim_wrapper.optimizer.type == 'SGD':
        # DGR's SGD lr 0.1 (300 epochs, batch 4, real data) overshoots in
        # two steps of a from-scratch ResNet-50 with batch-2 BN statistics
        # on random pixels; this test checks the pipeline, not the schedule
        cfg.optim_wrapper.optimizer.lr = 0.01
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = config.replace('/', '_')
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert osp.isfile(tmp_path / 'work' / 'epoch_1.pth')
    val = {k: v.current() for k, v in runner.message_hub.log_scalars.items()
           if k.startswith('val/')}
    assert val, 'validation produced no metrics'
    for task in cfg.model.tasks:
        assert any(k.startswith(f'val/{task["name"]}/') for k in val), (
            task['name'], sorted(val))
