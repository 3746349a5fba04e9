# Copyright (c) mtlpartial contributors. All rights reserved.
"""init_model / inference_model / MultiTaskInferencer / image_demo.py on a
briefly trained embedded default."""
import importlib.util
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mtlpartial.apis import (CheckpointMismatchError, MultiTaskInferencer,
                             inference_model, init_model)
from mtlpartial.datasets.transforms import resize_bilinear
from mtlpartial.registry import DATASETS, INFERENCERS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT = osp.join(ROOT, 'configs', 'supervised', 'synthetic_onelabel.py')
# the embedded default, tiny; tools/test.py also dumps its predictions
TINY_CONFIG = """
_base_ = {default!r}
model = dict(backbone=dict(filters=(8, 8, 8, 8, 8)),
             heads=dict(in_channels=8))
train_cfg = dict(max_epochs=1, val_interval=1)
train_dataloader = dict(batch_size=4, num_workers=0,
                        persistent_workers=False,
                        dataset=dict(num_images=16))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(num_images=8))
test_dataloader = dict(num_workers=0, persistent_workers=False,
                       dataset=dict(num_images=8))
test_evaluator = [{{{{_base_.test_evaluator}}}},
                  dict(type='DumpResults', out_file_path={dump!r})]
default_hooks = dict(visualization=dict(max_images=1))
"""


def run(*args, check=True):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=check,
                          timeout=600)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """(config, checkpoint, dumped test predictions) of one short run."""
    root = tmp_path_factory.mktemp('infer')
    config = root / 'tiny_default.py'
    dump = str(root / 'test_preds.pkl')
    config.write_text(TINY_CONFIG.format(default=DEFAULT, dump=dump))
    work = root / 'work'
    run('tools/train.py', str(config), '--work-dir', str(work))
    ckpt = str(work / 'epoch_1.pth')
    assert osp.isfile(ckpt)
    return str(config), ckpt, dump


@pytest.fixture(scope='module')
def model(trained):
    return init_model(trained[0], trained[1])


def dataset_images(model, num=8):
    dataset = DATASETS.build(model.cfg.test_dataloader.dataset)
    return [dataset.load_sample(dataset.get_data_info(i))['img']
            for i in range(num)]


def to_png(path, img):
    Image.fromarray((np.asarray(img) * 255).round().astype(np.uint8)).save(
        path)
    return str(path)


def test_predictions_equal_those_of_tools_test(trained, model, tmp_path):
    config, ckpt, dump = trained
    res = run('tools/test.py', config, ckpt, '--work-dir',
              str(tmp_path / 'test'), '--show-dir', str(tmp_path / 'vis'),
              '--max-show', '2')
    assert f'panels written to {tmp_path / "vis"}' in res.stdout
    assert sorted(os.listdir(tmp_path / 'vis')) == ['test_0.png', 'test_1.png']
    with open(dump, 'rb') as f:
        reference = pickle.load(f)
    images = dataset_images(model)
    npy_files = []
    for i, img in enumerate(images):
        npy_files.append(str(tmp_path / f'{i}.npy'))
        np.save(npy_files[-1], img)
    # the test loader's batch (8 images of one size) in one forward
    for inputs in (images, npy_files):
        preds = inference_model(model, inputs)
        assert len(preds) == len(reference) == 8
        for ref, pred in zip(reference, preds):
            for task in model.tasks:
                assert torch.equal(pred.get_pred(task),
                                   ref[f'pred_{task}']), task


def test_odd_sizes_come_back_at_their_own_size(model, tmp_path):
    rng = np.random.default_rng(0)
    png = to_png(tmp_path / 'odd.png', rng.random((45, 71, 3)))
    inputs = [rng.random((67, 93, 3)).astype(np.float32),
              (rng.random((37, 50, 3)) * 255).astype(np.uint8), png]
    preds = inference_model(model, inputs)
    for pred, size in zip(preds, [(67, 93), (37, 50), (45, 71)]):
        assert pred.ori_shape == size
        assert pred.get_pred('semseg').shape == (1, *size)
        assert pred.get_pred('semseg').dtype == torch.int64
        assert pred.get_pred('depth').shape == (1, *size)
        normal = pred.get_pred('normal')
        assert normal.shape == (3, *size)
        torch.testing.assert_close(normal.norm(dim=0),
                                   torch.ones(size), atol=1e-4, rtol=0)
    single = inference_model(model, png)  # one input: one sample
    assert torch.equal(single.get_pred('depth'), preds[2].get_pred('depth'))
    assert single.img_path == png and single.image_id == 'odd'


def test_a_resizing_test_pipeline_is_undone(trained):
    cfg = Config.fromfile(trained[0])
    cfg.test_dataloader.dataset.pipeline = [
        dict(type='Resize', size=(64, 96)), dict(type='PackMultiTaskInputs')]
    resized_model = init_model(cfg, trained[1])
    img = np.random.default_rng(1).random((50, 70, 3)).astype(np.float32)
    pred = inference_model(resized_model, img)
    # by hand: the model at 64x96, each task resized back, then decided
    x = torch.from_numpy(resize_bilinear(img, (64, 96))).permute(2, 0, 1)
    with torch.no_grad():
        out = resized_model(x[None], mode='tensor')
    for name, task in resized_model.tasks.items():
        expected = task.to_prediction(
            task.resize_pred(out[name], (50, 70), True))[0]
        assert pred.get_pred(name).shape[-2:] == (50, 70)
        assert torch.equal(pred.get_pred(name), expected), name

    cfg.test_dataloader.dataset.pipeline = [
        dict(type='RandomFlip', prob=1.0), dict(type='PackMultiTaskInputs')]
    with pytest.raises(ValueError, match='crops or flips'):
        inference_model(init_model(cfg, trained[1]), img)


def test_bad_images_give_clear_messages(model, tmp_path):
    missing = str(tmp_path / 'missing.png')
    with pytest.raises(FileNotFoundError, match='missing.png'):
        inference_model(model, missing)
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'not an image')
    with pytest.raises(ValueError, match='broken.jpg: cannot read image'):
        inference_model(model, str(broken))
    bad_npy = tmp_path / 'bad.npy'
    bad_npy.write_bytes(b'garbage')
    with pytest.raises(ValueError, match='bad.npy: cannot read .npy'):
        inference_model(model, str(bad_npy))
    rgb = np.random.default_rng(2).random((40, 48, 3))
    gray = tmp_path / 'gray.png'
    Image.fromarray((rgb[..., 0] * 255).astype(np.uint8)).save(gray)
    with pytest.warns(UserWarning, match='gray.png: grayscale image'):
        assert inference_model(model, str(gray)).ori_shape == (40, 48)
    rgba = tmp_path / 'rgba.png'
    Image.fromarray((np.dstack([rgb, rgb[..., :1]]) * 255).astype(
        np.uint8)).save(rgba)
    with pytest.warns(UserWarning, match='rgba.png: RGBA image, alpha'):
        inference_model(model, str(rgba))
    deep = tmp_path / 'deep.png'
    Image.fromarray((rgb[..., 0] * 60000).astype(np.uint16)).save(deep)
    with pytest.raises(ValueError, match='deep.png: integer images must '
                       'be uint8'):
        inference_model(model, str(deep))
    with pytest.raises(ValueError, match=r'RGB image of shape \(H, W, 3\)'):
        inference_model(model, np.zeros((40, 48, 5), np.uint8))
    with pytest.raises(ValueError, match=r'must lie in \[0, 1\]'):
        inference_model(model, rgb * 255)
    with pytest.raises(TypeError, match='built by init_model'):
        inference_model(torch.nn.Conv2d(3, 3, 1), rgb)


def test_checkpoint_and_device_errors(trained, tmp_path):
    config, ckpt, _ = trained
    with pytest.raises(FileNotFoundError, match='checkpoint file not found'):
        init_model(config, str(tmp_path / 'none.pth'))
    # the default's full-width model: every weight has another shape
    with pytest.raises(CheckpointMismatchError,
                       match='does not fit the MultiTaskModel.*of another '
                       'shape'):
        init_model(DEFAULT, ckpt)
    state = torch.load(ckpt, weights_only=True)['state_dict']
    key = next(iter(state))
    state['extra_head.weight'] = state.pop(key)
    edited = str(tmp_path / 'edited.pth')
    torch.save(dict(state_dict=state), edited)
    with pytest.raises(CheckpointMismatchError,
                       match=f'1 weights missing.*{key}.*1 weights '
                       'unexpected.*extra_head.weight'):
        init_model(config, edited)
    text = tmp_path / 'text.pth'
    text.write_text('hello')
    with pytest.raises(ValueError, match='not a readable PyTorch'):
        init_model(config, str(text))
    unsafe = str(tmp_path / 'unsafe.pth')
    torch.save(dict(state_dict=state, extra=MultiTaskInferencer), unsafe)
    with pytest.raises(ValueError, match='refused by weights-only'):
        init_model(config, unsafe)
    with pytest.warns(UserWarning, match='random initial weights'):
        init_model(config)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='CUDA is not available'):
            init_model(config, ckpt, device='cuda')


def test_inferencer_batches_a_folder_and_writes_outputs(trained, model,
                                                        tmp_path):
    config, ckpt, _ = trained
    folder = tmp_path / 'images'
    folder.mkdir()
    images = dataset_images(model, 2)
    paths = [to_png(folder / 'a.png', images[0]),
             to_png(folder / 'b.png', images[1]),
             to_png(folder / 'c.png',
                    np.random.default_rng(3).random((45, 61, 3)))]
    (folder / 'notes.txt').write_text('not an image')
    inferencer = INFERENCERS.build(dict(
        type='MultiTaskInferencer', model=config, weights=ckpt,
        show_progress=False))
    assert isinstance(inferencer, MultiTaskInferencer)
    batch_sizes = []
    forward = inferencer.forward
    inferencer.forward = lambda data, **kw: batch_sizes.append(
        len(data['inputs'])) or forward(data, **kw)
    out = tmp_path / 'out'
    result = inferencer(str(folder), batch_size=4, out_dir=str(out),
                        save_arrays=True)
    assert batch_sizes == [2, 1]  # a, b share a size; c does not
    expected = inference_model(model, paths)
    for name, pred, ref in zip('abc', result['predictions'], expected):
        assert (out / 'vis' / f'{name}.png').is_file()
        seg = np.array(Image.open(out / 'pred' / f'{name}_semseg.png'))
        np.testing.assert_array_equal(seg, ref.get_pred('semseg')[0])
        depth = np.load(out / 'pred' / f'{name}_depth.npy')
        np.testing.assert_array_equal(depth, ref.get_pred('depth')[0])
        normal = np.load(out / 'pred' / f'{name}_normal.npy')
        np.testing.assert_array_equal(
            normal, ref.get_pred('normal').permute(1, 2, 0))
        np.testing.assert_array_equal(pred['depth'], depth)
    assert result['visualization'][2].dtype == np.uint8
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='empty: no image files'):
        inferencer(str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match='nothing.png'):
        inferencer(str(tmp_path / 'nothing.png'))


def test_image_demo(trained, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'image_demo', osp.join(ROOT, 'tools', 'misc', 'image_demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    main = demo.main
    config, ckpt, _ = trained
    folder = tmp_path / 'images'
    folder.mkdir()
    to_png(folder / 'scene.png', np.random.default_rng(4).random((64, 80,
                                                                  3)))
    res = run('tools/misc/image_demo.py', str(folder), config, ckpt,
              '--out-dir', str(tmp_path / 'demo'))
    assert 'panels in' in res.stdout
    assert (tmp_path / 'demo' / 'vis' / 'scene.png').is_file()
    assert main([str(tmp_path / 'none.png'), config, ckpt]) == 1
    assert 'image file or folder not found' in capsys.readouterr().err
    assert main([str(folder), DEFAULT, ckpt]) == 1
    assert 'does not fit the MultiTaskModel' in capsys.readouterr().err
    Image.fromarray(np.zeros((40, 48), np.uint8)).save(folder / 'g.png')
    assert main([str(folder / 'g.png'), config, ckpt, '--out-dir',
                 str(tmp_path / 'demo2')]) == 0
    assert 'warning: ' + str(folder / 'g.png') + ': grayscale' in \
        capsys.readouterr().err
