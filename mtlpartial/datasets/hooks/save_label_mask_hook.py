# Copyright (c) mtlpartial contributors. All rights reserved.
"""Record the training set's partial-label mask and keep a run on one mask.

The mask is part of a run's identity: which (image, task) labels the model
saw. The hook

* writes it to ``work_dir/label_mask.npz`` before training; a file there
  that holds another mask (an earlier run in the same work dir) is never
  overwritten silently: it is kept under a dated name and a warning says so;
* puts it into every checkpoint (``checkpoint['label_mask']``: task names,
  image-id digest, packed bits, the setting);
* on resume compares the checkpoint's mask with the one the current config
  builds, and stops with both described when they differ, unless
  ``allow_mask_change=True`` (``tools/train.py --allow-mask-change``), which
  logs the change. Checkpoints written before this record existed are
  compared with ``work_dir/label_mask.npz`` when it exists.
"""
import hashlib
import os
import os.path as osp
import time
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mtlpartial.registry import HOOKS
from ..base_multitask_dataset import describe_setting
from ..partial_labels import load_mask, save_mask


def unwrap_dataset(dataset):
    """Find the dataset that owns ``label_mask`` (through wrappers)."""
    seen = 0
    while not hasattr(dataset, 'label_mask') and hasattr(dataset, 'dataset') \
            and seen < 10:
        dataset = dataset.dataset
        seen += 1
    return dataset


def ids_digest(image_ids: Optional[Sequence]) -> str:
    """SHA-1 of the image ids in order ('' when there are none)."""
    if image_ids is None:
        return ''
    return hashlib.sha1('\n'.join(map(str, image_ids)).encode()).hexdigest()


def mask_record(mask: np.ndarray, task_names: Sequence[str],
                image_ids: Optional[Sequence], setting: str) -> dict:
    """What a checkpoint stores about its label mask (weights-only safe)."""
    mask = np.asarray(mask, dtype=bool)
    return dict(
        task_names=list(task_names),
        shape=list(mask.shape),
        bits=torch.from_numpy(np.packbits(mask.reshape(-1))),
        image_ids_sha1=ids_digest(image_ids),
        setting=setting)


def record_mask(record: dict) -> np.ndarray:
    """The bool ``(N, K)`` mask of :func:`mask_record`."""
    n, k = (int(v) for v in record['shape'])
    bits = np.asarray(record['bits'].cpu().numpy(), dtype=np.uint8)
    return np.unpackbits(bits, count=n * k).astype(bool).reshape(n, k)


def _counts(mask: np.ndarray, names: Sequence[str]) -> str:
    return ', '.join(f'{t} {int(c)}' for t, c in zip(names, mask.sum(0)))


def compare_masks(old: dict, new: dict) -> Optional[str]:
    """None if two records describe the same labels, else what differs.

    Columns are matched by task name (a reordering alone is no change).
    """
    if sorted(old['task_names']) != sorted(new['task_names']):
        return (f'tasks {old["task_names"]} before, {new["task_names"]} '
                'now')
    other_ids = bool(old['image_ids_sha1'] and new['image_ids_sha1']) and \
        old['image_ids_sha1'] != new['image_ids_sha1']
    if other_ids or old['shape'][0] != new['shape'][0]:
        return (f'other training images ({old["shape"][0]} before, '
                f'{new["shape"][0]} now, or other ids)')
    names = list(new['task_names'])
    old_mask = record_mask(old)[:, [old['task_names'].index(t)
                                    for t in names]]
    new_mask = record_mask(new)
    rows = np.flatnonzero((old_mask != new_mask).any(1))
    if not rows.size:
        return None
    i = int(rows[0])
    before = [t for t, m in zip(names, old_mask[i]) if m]
    after = [t for t, m in zip(names, new_mask[i]) if m]
    return (f'{rows.size} of {len(new_mask)} images have other labels '
            f'(first: image {i}, labelled {before} before, {after} now); '
            f'labelled per task before: {_counts(old_mask, names)}; now: '
            f'{_counts(new_mask, names)}')


@HOOKS.register_module()
class SaveLabelMaskHook(Hook):
    """Save the training set's ``label_mask`` and keep a run on one mask.

    See the module docstring. The mask depends only on (setting, seed);
    the saved file can be fed back with ``partial_labels='<work_dir>/
    label_mask.npz'`` (``MaskFile``).

    Args:
        filename (str): Defaults to 'label_mask.npz'.
        allow_mask_change (bool): on resume, continue with a mask other
            than the checkpoint's (logged as a warning) instead of stopping.
            Defaults to False.
    """
    priority = 'LOW'

    def __init__(self, filename: str = 'label_mask.npz',
                 allow_mask_change: bool = False) -> None:
        self.filename = filename
        self.allow_mask_change = allow_mask_change

    @staticmethod
    def _dataset(runner):
        dataset = unwrap_dataset(runner.train_dataloader.dataset)
        return dataset if hasattr(dataset, 'label_mask') else None

    def current_record(self, runner) -> Optional[dict]:
        """The record of the training set's mask (None without a mask)."""
        dataset = self._dataset(runner)
        if dataset is None:
            return None
        return mask_record(
            dataset.label_mask, dataset.task_names,
            getattr(dataset, 'image_ids', None),
            describe_setting(getattr(dataset, 'partial_labels_cfg', None)))

    def _file_record(self, path: str) -> dict:
        saved = load_mask(path)
        return mask_record(saved.mask, saved.task_names, saved.image_ids,
                           str(saved.meta.get('setting', path)))

    # ------------------------------------------------------------ resume
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        from mmengine.runner import BaseLoop
        if not getattr(runner, '_resume', False) or not isinstance(
                getattr(runner, '_train_loop', None), BaseLoop):
            return  # load_from (fine-tuning, testing): another mask is fine
        new = self.current_record(runner)
        if new is None:
            return
        old, source = checkpoint.get('label_mask'), 'the checkpoint'
        path = osp.join(runner.work_dir, self.filename)
        if old is None and osp.isfile(path):
            old, source = self._file_record(path), path
        if old is None:
            runner.logger.warning(
                'SaveLabelMaskHook: the checkpoint records no label mask and '
                f'{path} does not exist; the mask of the resumed run cannot '
                'be compared with the one it was trained with')
            return
        diff = compare_masks(old, new)
        if diff is None:
            return
        text = (f'the label mask differs from the one the run was trained '
                f'with ({source}: partial_labels={old["setting"]}; current '
                f'config: partial_labels={new["setting"]}): {diff}')
        if self.allow_mask_change:
            runner.logger.warning(f'allow_mask_change=True: resuming with '
                                  f'another label mask: {text}')
            return
        raise RuntimeError(
            f'resume refused: {text}. Resume with the run\'s own labels '
            f'(set train_dataloader.dataset.partial_labels as before, or to '
            f'the saved mask {path}), or pass --allow-mask-change '
            '(SaveLabelMaskHook(allow_mask_change=True)) to continue with '
            'the new mask on purpose')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        record = self.current_record(runner)
        if record is not None:
            checkpoint['label_mask'] = record

    # -------------------------------------------------------------- file
    def _keep_old_file(self, runner, path: str, new: dict) -> bool:
        """Move another run's mask file aside; False if it is the same."""
        try:
            old = self._file_record(path)
        except (OSError, ValueError, KeyError) as e:
            old, diff = None, f'unreadable: {e}'
        else:
            diff = compare_masks(old, new)
            if diff is None:
                return False
        stamp = time.strftime('%Y%m%d_%H%M%S',
                              time.localtime(osp.getmtime(path)))
        stem, ext = osp.splitext(path)
        kept = f'{stem}.{stamp}{ext}'
        n = 1
        while osp.exists(kept):
            kept, n = f'{stem}.{stamp}_{n}{ext}', n + 1
        os.replace(path, kept)
        runner.logger.warning(
            f'SaveLabelMaskHook: {path} held another label mask ({diff}); '
            f'it is kept as {kept} and the current mask is saved')
        return True

    def before_train(self, runner) -> None:
        if not is_main_process():
            return
        dataset = self._dataset(runner)
        if dataset is None:
            runner.logger.warning('SaveLabelMaskHook: the training dataset '
                                  'has no label_mask; nothing saved')
            return
        path = osp.join(runner.work_dir, self.filename)
        counts = dict(zip(dataset.task_names,
                          dataset.label_mask.sum(0).tolist()))
        summary = (f'partial labels: {len(dataset.label_mask)} images, '
                   f'labelled per task {counts}')
        if osp.isfile(path) and not self._keep_old_file(
                runner, path, self.current_record(runner)):
            runner.logger.info(f'{summary}; same mask as {path}')
            return
        save_mask(
            path,
            dataset.label_mask,
            dataset.task_names,
            image_ids=getattr(dataset, 'image_ids', None),
            meta=dict(setting=describe_setting(
                getattr(dataset, 'partial_labels_cfg', None))))
        runner.logger.info(f'{summary}; mask saved to {path}')
