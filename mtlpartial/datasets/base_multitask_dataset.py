# Copyright (c) mtlpartial contributors. All rights reserved.
"""Base class of multi-task dense-prediction datasets with partial labels.

A dataset knows which tasks it *can* provide (``supported_tasks``) and which
image each sample is; the config picks the tasks (``tasks``, task-spec
dicts) and the partial-label setting (``partial_labels``). The label mask
``(N, K)`` is built once at init from the setting; each data info then
carries the paths of the image and of the **labelled** tasks' ground truth
only. Files are read in :meth:`MultiTaskDataset.prepare_data`, i.e. in the
dataloader workers, never at init: ground truth of an unlabelled task is
never read, so it cannot leak into a loss.

Results handed to the pipeline (the keys the mtlpartial transforms use):

* ``img``: ``(H, W, 3)`` float32 in ``[0, 1]``;
* ``gt_maps``: ``{task: (H, W, C) array}`` for the labelled tasks only, in
  the canonical dtype of the task spec (``task.validate_gt``);
* ``task_specs``: ``{task: BaseTask}`` of all tasks (flip / rescale rules);
* ``tasks``, ``labelled_tasks``, ``sample_idx``, ``image_id``, ``img_path``,
  ``ori_shape``, ``img_shape``, ``flip`` (False), ``crop_box`` (the region
  of the loaded image shown, normalised ``(x0, y0, x1, y1)``).
"""
import copy
import logging
import os.path as osp
from typing import (Any, Dict, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mtlpartial.registry import DATASETS
from mtlpartial.tasks import BaseTask, build_tasks, task_cfg_list
from .partial_labels import build_partial_labels, check_label_mask


def check_image(img: np.ndarray, where: str) -> np.ndarray:
    """Validate an RGB image and bring it to float32 ``[0, 1]``.

    Args:
        img: ``(H, W, 3)`` array, uint8 (0..255) or float (0..1).
        where: the file it came from (for the error message).

    Returns:
        np.ndarray: ``(H, W, 3)`` float32 in ``[0, 1]``.

    Raises:
        ValueError: naming ``where`` and what was expected.
    """
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'{where}: expected an RGB image of shape (H, W, 3),'
                         f' got {img.shape}')
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.
    if img.dtype.kind not in 'fiu':
        raise ValueError(f'{where}: image dtype {img.dtype} is not numeric')
    img = img.astype(np.float32)
    if not np.all(np.isfinite(img)):
        raise ValueError(f'{where}: image contains NaN or Inf values')
    lo, hi = float(img.min(initial=0)), float(img.max(initial=0))
    if lo < -1e-3 or hi > 1 + 1e-3:
        raise ValueError(f'{where}: float images must lie in [0, 1], got '
                         f'range [{lo:.4g}, {hi:.4g}]')
    return np.clip(img, 0., 1.)


def describe_setting(cfg: Any) -> str:
    """Short human-readable name of a partial-label setting."""
    if cfg is None:
        return 'Full'
    if isinstance(cfg, np.ndarray):
        return f'explicit mask {cfg.shape}'
    return repr(cfg)


@DATASETS.register_module()
class MultiTaskDataset(BaseDataset):
    """Base class of mtlpartial datasets.

    Subclasses implement :meth:`supported_tasks`, :meth:`load_image_list`,
    :meth:`load_image` and :meth:`load_gt` (or override :meth:`load_sample`
    for datasets without files).

    Args:
        tasks (list[dict], optional): task-spec configs ``[dict(name=...,
            type=...), ...]`` (:func:`mtlpartial.tasks.build_tasks`; a dict
            ``{name: cfg}`` is accepted with a warning about its order);
            their order is the task order everywhere. None: the dataset's
            default tasks.
        partial_labels (dict | str | object | np.ndarray, optional): the
            partial-label setting: a config of ``PARTIAL_LABELS``
            (``dict(type='OneLabel', seed=0)``), an alias string
            (``'onelabel'``), a built setting (anything with ``make_mask``)
            or an explicit ``(N, K)`` bool mask. None means fully
            labelled. Ignored (full labels) when ``test_mode=True``.
        data_root (str): dataset root.
        split (str): 'train', 'val', ... (dataset specific).
        pipeline (Sequence[dict | callable]): transforms.
        test_mode (bool): evaluation set: every task is labelled.
        indices (int | Sequence[int], optional): subset of the samples
            (applied after the label mask is built, so each image keeps
            its labels).
        max_refetch (int): see :class:`mmengine.dataset.BaseDataset`.
        serialize_data (bool): see :class:`mmengine.dataset.BaseDataset`.
        lazy_init (bool): see :class:`mmengine.dataset.BaseDataset`.
        metainfo (dict, optional): extra meta information.
        check_files (bool): check at init that the image and the labelled
            tasks' files exist. Defaults to True.
    """

    METAINFO: dict = dict()

    def __init__(self,
                 tasks: Optional[Mapping[str, Union[dict, BaseTask]]] = None,
                 partial_labels: Any = None,
                 data_root: str = '',
                 split: str = 'train',
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 max_refetch: int = 1000,
                 serialize_data: bool = True,
                 lazy_init: bool = False,
                 metainfo: Optional[dict] = None,
                 check_files: bool = True) -> None:
        if tasks is None:  # a list: the defaults' order is never dumped
            tasks = [dict(spec, name=name)
                     for name, spec in self.default_tasks().items()]
        self.task_specs: Dict[str, BaseTask] = build_tasks(tasks)
        self.task_cfgs: Optional[List[dict]] = task_cfg_list(tasks)
        self.task_names: Tuple[str, ...] = tuple(self.task_specs)
        self.split = split
        self.check_files = check_files
        self.partial_labels_cfg = partial_labels
        self._check_tasks()
        if test_mode and partial_labels is not None:
            print_log(
                f'{type(self).__name__} (split {split!r}, test_mode): '
                f'partial_labels={describe_setting(partial_labels)} is '
                'ignored, evaluation sets are fully labelled',
                logger='current',
                level=logging.WARNING)
        self._label_mask: Optional[np.ndarray] = None
        self._image_ids: Optional[List[Any]] = None
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(),
            filter_cfg=None,
            indices=indices,
            serialize_data=serialize_data,
            pipeline=list(pipeline),
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch)
        self._metainfo.update(self.task_metainfo())

    # ------------------------------------------------------ subclass API
    def default_tasks(self) -> Dict[str, dict]:
        """Task-spec configs used when ``tasks`` is None."""
        raise NotImplementedError(
            f'{type(self).__name__} has no default tasks; pass `tasks`')

    def supported_tasks(self) -> Dict[str, str]:
        """``{task name: expected task kind}`` this dataset can provide."""
        raise NotImplementedError

    def load_image_list(self) -> List[dict]:
        """One dict per image with ``image_id``, optionally ``img_path``
        and ``gt_paths`` (``{task: path}`` for **all** tasks) plus any
        dataset-specific keys."""
        raise NotImplementedError

    def load_image(self, info: dict) -> Tuple[np.ndarray, str]:
        """Read the image of ``info``; returns ``(array, where)``."""
        raise NotImplementedError

    def load_gt(self, task: str, info: dict) -> Tuple[np.ndarray, str]:
        """Read the raw ground truth of ``task``; returns ``(array,
        where)`` (validated by the task spec afterwards)."""
        raise NotImplementedError

    # -------------------------------------------------------- properties
    @property
    def label_mask(self) -> np.ndarray:
        """``(N, K)`` bool: ``label_mask[i, k]`` iff sample ``i`` is
        labelled for task ``task_names[k]``."""
        if not self._fully_initialized:
            self.full_init()
        return self._label_mask

    @property
    def image_ids(self) -> List[Any]:
        """Image ids of the samples, in dataset order."""
        if not self._fully_initialized:
            self.full_init()
        return list(self._image_ids)

    def task_metainfo(self) -> dict:
        """``tasks`` (names), ``task_kinds``, ``classes`` (per seg task) and
        ``task_cfgs`` (the task configs as plain dicts, from which
        ``MultiTaskMetric`` builds its tasks; None when the dataset was
        given built task specs)."""
        classes = {
            name: tuple(spec.class_names)
            for name, spec in self.task_specs.items()
            if getattr(spec, 'kind', '') == 'semseg'
        }
        return dict(
            tasks=self.task_names,
            task_kinds={n: s.kind
                        for n, s in self.task_specs.items()},
            classes=classes,
            task_cfgs=copy.deepcopy(self.task_cfgs),
            split=self.split)

    # ------------------------------------------------------------ checks
    def _check_tasks(self) -> None:
        supported = self.supported_tasks()
        unknown = [t for t in self.task_names if t not in supported]
        if unknown:
            raise KeyError(
                f'{type(self).__name__}: unknown task(s) {unknown}; this '
                f'dataset supports {list(supported)}')
        for name, spec in self.task_specs.items():
            kind = supported[name]
            if kind and spec.kind != kind:
                raise ValueError(
                    f'{type(self).__name__}: task "{name}" must be a '
                    f'{kind} task spec, got {type(spec).__name__} '
                    f'(kind {spec.kind!r})')

    def build_label_mask(self, image_ids: Sequence[Any]) -> np.ndarray:
        """Build the ``(N, K)`` label mask of ``image_ids`` from the
        setting (full in test mode), checked by
        :func:`~mtlpartial.datasets.partial_labels.check_label_mask`.

        Raises:
            ValueError: mask shape mismatch, values other than 0/1, or an
                image without any labelled task (names the dataset, split,
                setting and the image's index and id).
        """
        n, k = len(image_ids), len(self.task_names)
        cfg = self.partial_labels_cfg
        if self.test_mode or cfg is None:
            return np.ones((n, k), dtype=bool)
        desc = describe_setting(cfg)
        if isinstance(cfg, (np.ndarray, list, tuple)):
            mask = np.asarray(cfg)
        else:
            setting = cfg if hasattr(cfg, 'make_mask') else \
                build_partial_labels(cfg)
            mask = setting.make_mask(
                task_names=list(self.task_names),
                num_images=n,
                image_ids=list(image_ids))
        return check_label_mask(
            mask, self.task_names, n,
            f'{type(self).__name__} (split {self.split!r}): '
            f'partial_labels={desc}', list(image_ids))

    def check_paths(self, infos: Sequence[dict]) -> None:
        """Raise FileNotFoundError naming the first missing file among the
        images and the labelled tasks' files."""
        missing = []
        for info in infos:
            paths = [info['img_path']] if info.get('img_path') else []
            paths += [
                p for t, p in info.get('gt_paths', {}).items()
                if t in info['labelled_tasks'] and p is not None
            ]
            paths += list(info.get('aux_paths', ()))
            missing += [p for p in paths if not osp.isfile(p)]
        if missing:
            raise FileNotFoundError(
                f'{type(self).__name__} (split {self.split!r}, root '
                f'{self.data_root!r}): file not found: {missing[0]}'
                + (f' (and {len(missing) - 1} more)'
                   if len(missing) > 1 else ''))

    def check_indices(self, indices: Any, num_images: int) -> None:
        """Raise TypeError / ValueError (naming the dataset, split and valid
        range) unless ``indices`` selects some of the ``num_images``."""
        where = (f'{type(self).__name__} (split {self.split!r}, '
                 f'{num_images} images): indices')
        if isinstance(indices, bool) or not isinstance(
                indices, (int, np.integer, Sequence)) or isinstance(
                    indices, str):
            raise TypeError(f'{where} must be an int (the first n images, '
                            'or the last -n) or a list of image indices, '
                            f'got {indices!r}')
        if isinstance(indices, (int, np.integer)):
            if indices == 0 or abs(int(indices)) > num_images:
                what = 'no' if indices == 0 else 'more than all'
                raise ValueError(
                    f'{where}={indices} selects {what} images; expected '
                    f'1 <= |indices| <= {num_images}')
            return
        if len(indices) == 0:
            raise ValueError(f'{where}=[] selects no image; pass None for '
                             'all images or a non-empty list')
        bad = [i for i in indices if isinstance(i, bool) or
               not isinstance(i, (int, np.integer))]
        if bad:
            raise TypeError(f'{where} must hold ints, got {bad[:5]}')
        out = [int(i) for i in indices if not -num_images <= i < num_images]
        if out:
            raise ValueError(
                f'{where} {out[:5]} are out of range ({len(out)} index(es) '
                f'outside [-{num_images}, {num_images - 1}])')

    # ------------------------------------------------------- data list
    def load_data_list(self) -> List[dict]:
        infos = self.load_image_list()
        ids = [info['image_id'] for info in infos]
        mask = self.build_label_mask(ids)
        for info, row in zip(infos, mask):
            labelled = tuple(t for t, m in zip(self.task_names, row) if m)
            info['tasks'] = self.task_names
            info['labelled_tasks'] = labelled
            gt_paths = info.get('gt_paths', {})
            info['gt_paths'] = {
                t: gt_paths.get(t)
                for t in labelled if gt_paths.get(t) is not None
            }
        if self.check_files:
            self.check_paths(infos)
        return infos

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        self.data_list = self.load_data_list()
        self.data_list = self.filter_data()
        if self._indices is not None:
            self.check_indices(self._indices, len(self.data_list))
            self.data_list = self._get_unserialized_subset(self._indices)
        self._label_mask = np.array(
            [[t in info['labelled_tasks'] for t in self.task_names]
             for info in self.data_list],
            dtype=bool).reshape(len(self.data_list), len(self.task_names))
        self._image_ids = [info['image_id'] for info in self.data_list]
        if self.serialize_data:
            self.data_bytes, self.data_address = self._serialize_data()
        self._fully_initialized = True

    # ---------------------------------------------------------- loading
    def load_sample(self, info: dict) -> dict:
        """Read and validate the image and the labelled tasks' ground
        truth of one data info; returns the pipeline's input dict."""
        img, where = self.load_image(info)
        img = check_image(img, where)
        gt_maps = {}
        for task in info['labelled_tasks']:
            raw, gt_where = self.load_gt(task, info)
            gt = self.task_specs[task].validate_gt(raw, where=gt_where)
            if gt.shape[:2] != img.shape[:2]:
                raise ValueError(
                    f'{gt_where}: ground truth of task "{task}" has size '
                    f'{gt.shape[:2]} but the image {where} has size '
                    f'{img.shape[:2]}')
            gt_maps[task] = gt
        return self.make_results(info, img, gt_maps, where)

    def make_results(self, info: dict, img: np.ndarray,
                     gt_maps: Dict[str, np.ndarray], where: str) -> dict:
        """Assemble the pipeline input dict (see the module docstring)."""
        results = copy.copy(info)
        results.update(
            img=img,
            gt_maps=gt_maps,
            task_specs=self.task_specs,
            img_path=info.get('img_path', where),
            ori_shape=img.shape[:2],
            img_shape=img.shape[:2],
            flip=False,
            crop_box=np.array([0., 0., 1., 1.], dtype=np.float64))
        return results

    def prepare_data(self, idx: int) -> Any:
        info = self.get_data_info(idx)
        return self.pipeline(self.load_sample(info))
