# Copyright (c) mtlpartial contributors. All rights reserved.
import os

import numpy as np
import pytest
import torch

from mtlpartial.datasets.partial_labels import (MaskFile, OfficialMask,
                                                OneLabel, RandomLabels,
                                                load_mask, mask_summary,
                                                save_mask)
from .official_masks import official

T3 = ('semseg', 'depth', 'normal')


@pytest.mark.parametrize('ext', ['.npz', '.json'])
def test_save_load_roundtrip(tmp_path, ext):
    mask = RandomLabels(1).make_mask(T3, 50)
    ids = [f'img{i:03d}' for i in range(50)]
    path = str(tmp_path / 'sub' / f'mask{ext}')
    assert save_mask(path, mask, T3, ids, meta=dict(seed=1, s='x')) == path
    assert os.listdir(tmp_path / 'sub') == [f'mask{ext}']  # no temp left
    rec = load_mask(path)
    assert rec.mask.dtype == np.bool_ and np.array_equal(rec.mask, mask)
    assert rec.task_names == T3 and rec.image_ids == tuple(ids)
    assert rec.meta == dict(seed=1, s='x')
    # usable as a setting, rows matched by id after a shuffle
    perm = np.random.default_rng(0).permutation(50)
    got = MaskFile(path).make_mask(T3, 50, [ids[i] for i in perm])
    assert np.array_equal(got, mask[perm])
    # columns matched by name
    got = MaskFile(path).make_mask(('normal', 'semseg', 'depth'), 50)
    assert np.array_equal(got, mask[:, [2, 0, 1]])


def test_save_without_ids_and_overwrite(tmp_path):
    path = str(tmp_path / 'm.npz')
    save_mask(path, OneLabel(0).make_mask(T3, 6), T3)
    save_mask(path, OneLabel(1).make_mask(T3, 6), T3)
    rec = load_mask(path)
    assert rec.image_ids is None
    assert np.array_equal(rec.mask, OneLabel(1).make_mask(T3, 6))


def test_save_errors(tmp_path):
    with pytest.raises(ValueError, match='.npz or .json'):
        save_mask(str(tmp_path / 'm.txt'), np.ones((2, 1)), ('a', ))
    with pytest.raises(ValueError, match='no labelled task'):
        save_mask(str(tmp_path / 'm.npz'), np.zeros((2, 1)), ('a', ))
    assert not os.listdir(tmp_path)


def test_mask_file_errors(tmp_path):
    path = str(tmp_path / 'm.npz')
    save_mask(path, OneLabel(0).make_mask(T3, 6), T3, list('abcdef'))
    with pytest.raises(FileNotFoundError, match='nope.npz'):
        MaskFile(str(tmp_path / 'nope.npz')).make_mask(T3, 6)
    with pytest.raises(ValueError, match=r"dataset tasks \['edge'\]"):
        MaskFile(path).make_mask(('semseg', 'edge'), 6)
    with pytest.raises(ValueError, match="image id 'z'"):
        MaskFile(path).make_mask(T3, 6, list('abcdez'))
    with pytest.raises(ValueError, match='has 6 images but the dataset '
                       'has 5'):
        MaskFile(path).make_mask(T3, 5, list('abcde'))
    sub = MaskFile(path, allow_subset=True).make_mask(T3, 3, list('fab'))
    assert np.array_equal(sub, load_mask(path).mask[[5, 0, 1]])
    with pytest.raises(ValueError, match='has 6 images but the dataset '
                       'has 7'):
        MaskFile(path).make_mask(T3, 7)
    (tmp_path / 'x.csv').write_text('')
    with pytest.raises(ValueError, match='unknown label-mask format'):
        load_mask(str(tmp_path / 'x.csv'))


def test_pth_matrix_formats(tmp_path):
    m = torch.tensor([[1., 0.], [0., 1.], [1., 1.]])
    path = str(tmp_path / 'custom.pth')
    torch.save({'labels_weights': m},
               path,
               _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match='pass task_order'):
        OfficialMask(path).make_mask(('semseg', 'depth'), 3)
    got = OfficialMask(path, task_order=('depth', 'semseg')).make_mask(
        ('semseg', 'depth'), 3)
    assert got.tolist() == [[False, True], [True, False], [True, True]]
    torch.save({'weights': m}, path)
    with pytest.raises(KeyError, match='labels_weights'):
        load_mask(path)
    torch.save({'labels_weights': m * 2}, path)
    with pytest.raises(ValueError, match='0/1'):
        load_mask(path)


def test_official_nyu_onelabel():
    path = official('nyuv2_onelabel.pth')
    raw = torch.load(path, weights_only=True)['labels_weights'].numpy() > 0
    rec = load_mask(path)
    assert rec.task_names == T3
    s = mask_summary(rec.mask, rec.task_names)
    assert s['num_images'] == 795
    assert s['per_task'] == dict(semseg=265, depth=265, normal=265)
    assert rec.mask[:6].astype(int).tolist() == [[1, 0, 0], [0, 0, 1],
                                                 [0, 0, 1], [0, 0, 1],
                                                 [0, 0, 1], [0, 1, 0]]
    mask = OfficialMask(path).make_mask(T3, 795)
    assert np.array_equal(mask, raw)
    # dataset task order differs from the file's: columns follow names
    mask = OfficialMask(path).make_mask(('normal', 'depth', 'semseg'), 795)
    assert np.array_equal(mask, raw[:, ::-1])
    # own task names through task_order
    mask = OfficialMask(path, task_order=('seg', 'dep', 'nor')).make_mask(
        ('seg', 'dep', 'nor'), 795)
    assert np.array_equal(mask, raw)


def test_official_nyu_errors(tmp_path):
    path = official('nyuv2_onelabel.pth')
    with pytest.raises(ValueError, match=r'nyuv2_onelabel.pth has 795 images '
                       'but the dataset has 654'):
        OfficialMask(path).make_mask(T3, 654)
    with pytest.raises(ValueError, match=r"dataset tasks \['seg'\] have no "
                       'column'):
        OfficialMask(path).make_mask(('seg', 'depth', 'normal'), 795)
    # dropping the normal column leaves 265 images without labels
    with pytest.raises(ValueError, match='image 1 has no labelled task'):
        OfficialMask(path).make_mask(('semseg', 'depth'), 795)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        OfficialMask(str(tmp_path / 'missing.pth')).make_mask(T3, 795)


def test_official_nyu_randomlabels_and_cityscapes():
    rec = load_mask(official('nyuv2_randomlabels.pth'))
    s = mask_summary(rec.mask, rec.task_names)
    assert s['per_task'] == dict(semseg=392, depth=408, normal=385)
    assert s['labels_per_image'] == {0: 0, 1: 405, 2: 390, 3: 0}
    assert s['patterns'] == {'001': 143, '010': 133, '011': 127,
                             '100': 129, '101': 115, '110': 148}
    rec = load_mask(official('cityscapes_onelabel.pth'))
    assert rec.task_names == ('semseg', 'depth')
    assert mask_summary(rec.mask, rec.task_names)['per_task'] == dict(
        semseg=1487, depth=1488)
    mask = OfficialMask(official('cityscapes_onelabel.pth')).make_mask(
        ('semseg', 'depth'), 2975)
    assert (mask.sum(1) == 1).all()


PASCAL_TASKS = ('semseg', 'human_parts', 'saliency', 'normal', 'edge')


def test_official_pascal():
    path = official('pascal_onelabel.npy')
    rec = load_mask(path)
    assert rec.task_names == ('human_parts', 'edge', 'semseg', 'normals',
                              'sal')
    assert mask_summary(rec.mask, rec.task_names)['per_task'] == dict(
        human_parts=999, edge=999, semseg=1000, normals=1000, sal=1000)
    ids = list(rec.image_ids)
    raw = np.load(path, allow_pickle=True).item()
    shuffled = [ids[i] for i in np.random.default_rng(0).permutation(4998)]
    # default renaming: normals -> normal, sal -> saliency
    mask = OfficialMask(path).make_mask(PASCAL_TASKS, 4998, shuffled)
    assert (mask.sum(1) == 1).all()
    for k, key in enumerate(('semseg', 'human_parts', 'sal', 'normals',
                             'edge')):
        assert set(np.asarray(shuffled)[mask[:, k]]) == set(
            map(str, raw[key]))
    # explicit task_map
    task_map = dict(human_parts='parts', edge='edges', semseg='seg',
                    normals='nrm', sal='sal')
    mask2 = OfficialMask(path, task_map=task_map).make_mask(
        ('seg', 'parts', 'sal', 'nrm', 'edges'), 4998, shuffled)
    assert np.array_equal(mask, mask2)
    with pytest.raises(ValueError, match=r"task_map keys \['normal'\]"):
        OfficialMask(path, task_map=dict(normal='x')).make_mask(
            PASCAL_TASKS, 4998, shuffled)


def test_official_pascal_errors():
    path = official('pascal_randomlabels.npy')
    rec = load_mask(path)
    s = mask_summary(rec.mask, rec.task_names)
    assert s['per_task'] == dict(human_parts=847, edge=2557, semseg=2450,
                                 normals=2480, sal=2445)
    assert s['labels_per_image'] == {0: 0, 1: 1538, 2: 1529, 3: 1541,
                                     4: 390, 5: 0}
    ids = list(rec.image_ids)
    with pytest.raises(ValueError, match='must pass image_ids'):
        OfficialMask(path).make_mask(PASCAL_TASKS, 4998)
    with pytest.raises(ValueError, match="image id 'nope' .*dataset index "
                       '3'):
        OfficialMask(path).make_mask(PASCAL_TASKS, 4998,
                                     ids[:3] + ['nope'] + ids[4:])
    with pytest.raises(ValueError, match='has 4998 images but the dataset '
                       'has 10'):
        OfficialMask(path).make_mask(PASCAL_TASKS, 10, ids[:10])
