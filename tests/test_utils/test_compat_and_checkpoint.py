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


def test_bad_checkpoint_files_get_clear_errors(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(ValueError, match=r'empty.pth is empty \(0 bytes\)'):
        _load_checkpoint(str(empty))  # was a bare EOFError
    torch.save(dict(w=torch.ones(100)), tmp_path / 'ok.pth')
    data = (tmp_path / 'ok.pth').read_bytes()
    (tmp_path / 'cut.pth').write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match='cut.pth .* truncated or corrupt'):
        _load_checkpoint(str(tmp_path / 'cut.pth'))
    (tmp_path / 'text.pth').write_bytes(b'hello, not a checkpoint')
    with pytest.raises(ValueError, match='text.pth .* is not a torch'):
        _load_checkpoint(str(tmp_path / 'text.pth'))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        _load_checkpoint(str(tmp_path / 'missing.pth'))
    assert _load_checkpoint(str(tmp_path / 'ok.pth'))['w'].sum() == 100


def test_checkpoints_still_load_weights_only(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint

    class Evil:

        def __reduce__(self):
            return (os.system, ('true', ))

    torch.save(dict(x=Evil()), tmp_path / 'evil.pth')
    with pytest.raises(Exception, match='Weights only load failed'):
        _load_checkpoint(str(tmp_path / 'evil.pth'))


@pytest.mark.skipif(not mmcv_compat.mmcv_compat_active(),
                    reason='full mmcv: the compat layer is not used')
def test_mmcv_compat_notice_is_one_info_line(monkeypatch):
    import logging
    import sys

    from mmengine.logging import MMLogger
    records = []

    class Keep(logging.Handler):

        def emit(self, record):
            records.append(record)

    logger = MMLogger.get_current_instance()
    handler = Keep()
    logger.addHandler(handler)
    saved = {k: v for k, v in sys.modules.items() if k.startswith('mmcv.ops')}
    for key in saved:  # as at first import
        del sys.modules[key]
    monkeypatch.setitem(mmcv_compat._state, 'active', None)
    try:
        assert mmcv_compat.install_mmcv_ops_fallback()
    finally:
        logger.removeHandler(handler)
        sys.modules.update(saved)
        import mmcv
        mmcv.ops = saved['mmcv.ops']
    notices = [r for r in records if 'mmcv-lite' in r.getMessage()]
    assert len(notices) == 1 and notices[0].levelno == logging.INFO
    assert '\n' not in notices[0].getMessage()
