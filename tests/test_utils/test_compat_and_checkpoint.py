# Copyright (c) mtlpartial contributors. All rights reserved.
import os

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer

from mtlpartial.utils import mmcv_compat
from mtlpartial.utils.atomic_io import AtomicLocalBackend, atomic_write_bytes


def test_mmseg_models_import_with_or_without_compiled_ops():
    import mmseg.models  # noqa: F401
    from mmseg.registry import MODELS
    assert 'ResNetV1c' in MODELS.module_dict
    import mmcv.ops
    if mmcv_compat.mmcv_compat_active():
        assert getattr(mmcv.ops, 'MTLPARTIAL_FALLBACK', False)
        with pytest.raises(RuntimeError, match='compiled mmcv extension'):
            mmcv.ops.sigmoid_focal_loss(torch.zeros(1), torch.zeros(1))
        # the pure-PyTorch op is the real one
        out = mmcv.ops.point_sample(
            torch.rand(1, 2, 4, 4), torch.rand(1, 3, 2))
        assert out.shape == (1, 2, 3)
    else:  # full mmcv: the layer must stay out of the way
        assert not hasattr(mmcv.ops, 'MTLPARTIAL_FALLBACK')


def test_weights_only_checkpoint_with_runner_objects(tmp_path):
    buf = HistoryBuffer()
    buf.update(np.float64(1.5))
    ckpt = dict(
        state_dict=dict(w=torch.ones(2)),
        message_hub=dict(log_scalars={'train/loss': buf}),
        rng=np.random.get_state(),
        meta=dict(epoch=np.int64(3), seed=0))
    path = tmp_path / 'ckpt.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, weights_only=True)  # stays on
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 1.5
    assert int(loaded['meta']['epoch']) == 3

    class Evil:

        def __reduce__(self):
            return (os.system, ('true', ))

    torch.save(dict(x=Evil()), tmp_path / 'evil.pth')
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(tmp_path / 'evil.pth', weights_only=True)


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / 'epoch_1.pth'
    atomic_write_bytes(b'good', path)

    def broken_fsync(fd):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'fsync', broken_fsync)
    with pytest.raises(OSError, match='disk full'):
        AtomicLocalBackend().put(b'partial', path)
    assert path.read_bytes() == b'good'
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # no temp file left


def test_local_backend_is_atomic():
    from mmengine.fileio import get_file_backend
    assert isinstance(get_file_backend('/tmp/x.pth'), AtomicLocalBackend)


def test_restricted_getattr_refuses_other_attributes(tmp_path):

    class Evil:

        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    torch.save(Evil(), tmp_path / 'evil.pth')
    with pytest.raises(Exception, match='refused'):
        torch.load(tmp_path / 'evil.pth', weights_only=True)
