# Copyright (c) mtlpartial contributors. All rights reserved.
"""Read and write label-mask files.

Formats read by :func:`load_mask`:

* ``.npz`` / ``.json`` written by :func:`save_mask` (mask, task names,
  optional image ids, meta);
* MTPSL/JTR ``.pth`` (legacy ``torch.save`` of ``{'labels_weights':
  FloatTensor (N, K)}``, 0/1 values); columns carry no names, the known
  files' orders are in :data:`OFFICIAL_TASK_ORDERS`;
* MTPSL PASCAL-Context ``.npy`` (``np.save`` of a dict ``{task: [image_id,
  ...]}``, a pickled 0-d object array), or a plain 2-D 0/1 ``.npy`` array.

``.npy`` files are never read with ``allow_pickle=True``: numeric arrays are
read with ``allow_pickle=False``, and an object array (the PASCAL format) is
unpickled by :class:`RestrictedMaskUnpickler`, which admits only numpy's
array, dtype and scalar reconstruction; the result must be a dict of lists
of ids. A crafted file that would call anything else (``os.system`` ...) is
refused before any code runs.
"""
import io
import json
import os.path as osp
import pickle
from dataclasses import dataclass, field
from typing import Optional, Sequence, Tuple

import numpy as np

from mtlpartial.utils.atomic_io import atomic_write_bytes
from .base import check_label_mask, check_task_names

FORMAT_NAME = 'mtlpartial-label-mask'
FORMAT_VERSION = 1

#: Column orders of the official MTPSL/JTR ``.pth`` files, keyed by a word
#: of the file path (``nyuv2_settings/onelabel.pth``,
#: ``cityscapes_onelabel.pth``).
OFFICIAL_TASK_ORDERS = {
    'nyu': ('semseg', 'depth', 'normal'),
    'cityscapes': ('semseg', 'depth'),
}

#: Key order of the official PASCAL-Context ``.npy`` dicts.
PASCAL_OFFICIAL_TASKS = ('human_parts', 'edge', 'semseg', 'normals', 'sal')


@dataclass
class LabelMask:
    """A label mask read from a file.

    Attributes:
        mask (np.ndarray): bool ``(N, K)``.
        task_names (tuple[str] | None): column names; None when the file
            does not name its columns (official ``.pth``) and no default
            order is known.
        image_ids (tuple[str] | None): row ids, if the file has them.
        meta (dict): free-form information stored with the mask.
        path (str): the file read.
        rows_ordered (bool): False when the row order carries no meaning
            (id-list files): rows must then be matched by image id.
    """
    mask: np.ndarray
    task_names: Optional[Tuple[str, ...]]
    image_ids: Optional[Tuple[str, ...]] = None
    meta: dict = field(default_factory=dict)
    path: str = ''
    rows_ordered: bool = True

    @property
    def num_images(self) -> int:
        return int(self.mask.shape[0])


def default_task_order(path: str,
                       num_tasks: int) -> Optional[Tuple[str, ...]]:
    """The known column order of an official ``.pth`` file, if any.

    The file name is matched first, then the whole path, against the keys of
    :data:`OFFICIAL_TASK_ORDERS`; the order must have ``num_tasks`` entries.
    """
    for text in (osp.basename(path).lower(), str(path).lower()):
        for key, order in OFFICIAL_TASK_ORDERS.items():
            if key in text and len(order) == num_tasks:
                return order
    return None


def _as_01(array: np.ndarray, path: str, what: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f'{path}: {what} must be a 2-D (images, tasks) '
                         f'array, got shape {tuple(array.shape)}')
    if array.dtype != np.bool_ and not np.isin(array, (0, 1)).all():
        raise ValueError(f'{path}: {what} must hold only 0/1 values, got '
                         f'{np.unique(array)[:8].tolist()}')
    return array.astype(bool)


def _load_pth(path: str, task_order) -> LabelMask:
    import torch
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # noqa: BLE001 (re-raised with the file name)
        raise ValueError(f'{path}: cannot be read as a torch file with '
                         f'weights_only=True: {e}') from e
    if isinstance(obj, dict):
        if 'labels_weights' not in obj:
            raise KeyError(f'{path}: expected a dict with key '
                           f'"labels_weights" (MTPSL/JTR format), got keys '
                           f'{sorted(map(str, obj))}')
        obj = obj['labels_weights']
    if not isinstance(obj, torch.Tensor):
        raise TypeError(f'{path}: expected a tensor or {{"labels_weights": '
                        f'tensor}}, got {type(obj).__name__}')
    mask = _as_01(obj.detach().cpu().numpy(), path, 'labels_weights')
    names = tuple(task_order) if task_order is not None else \
        default_task_order(path, mask.shape[1])
    return LabelMask(mask, names, None, {}, path)


class RestrictedMaskUnpickler(pickle.Unpickler):
    """Unpickle the official PASCAL ``.npy`` object array, nothing else.

    ``np.save`` of a dict writes a pickle whose only globals are numpy's
    ``_reconstruct`` / ``ndarray`` / ``dtype`` (the 0-d object array) and
    ``scalar`` (``np.str_`` ids); dicts, lists and strings are pickle
    opcodes. Any other global (``os.system``, ``builtins.eval``,
    ``subprocess.Popen`` ...) raises ``pickle.UnpicklingError`` when the
    pickle names it, before it could be called.
    """

    ALLOWED = {
        ('numpy.core.multiarray', '_reconstruct'),
        ('numpy._core.multiarray', '_reconstruct'),
        ('numpy.core.multiarray', 'scalar'),
        ('numpy._core.multiarray', 'scalar'),
        ('numpy', 'ndarray'),
        ('numpy', 'dtype'),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f'global {module}.{name} is not allowed in a label-mask '
                'file (only numpy arrays of ids are)')
        if module.startswith('numpy.core'):  # numpy >= 2 moved it
            module = 'numpy._core' + module[len('numpy.core'):] \
                if hasattr(np, '_core') else module
        return super().find_class(module, name)

    def persistent_load(self, pid):
        raise pickle.UnpicklingError('persistent ids are not allowed in a '
                                     'label-mask file')


def read_npy_safely(path: str):
    """Read a ``.npy`` file without executing code from it.

    Numeric arrays are read with ``allow_pickle=False``; an object array is
    unpickled with :class:`RestrictedMaskUnpickler`.

    Raises:
        ValueError: the file is not a ``.npy`` file, or its pickle uses a
            global other than numpy's array reconstruction (names the file).
    """
    with open(path, 'rb') as f:
        try:
            version = np.lib.format.read_magic(f)
            header = np.lib.format.read_array_header_1_0(f) \
                if version == (1, 0) else \
                np.lib.format.read_array_header_2_0(f)
        except ValueError as e:
            raise ValueError(f'{path}: not a .npy file: {e}') from e
        if header[2] != np.dtype(object):
            f.seek(0)
            return np.load(f, allow_pickle=False)
        try:
            array = RestrictedMaskUnpickler(
                io.BytesIO(f.read()), encoding='ASCII').load()
        except (pickle.UnpicklingError, EOFError, AttributeError,
                TypeError, ValueError) as e:
            raise ValueError(
                f'{path}: refused: the object array in this .npy file is not '
                'the official PASCAL {task: [image_id, ...]} format '
                f'({type(e).__name__}: {e})') from e
    if not isinstance(array, np.ndarray):
        raise ValueError(f'{path}: expected a numpy object array, got '
                         f'{type(array).__name__}')
    return array


def _id_list(values, path: str, task) -> np.ndarray:
    ok = isinstance(values, (list, tuple, np.ndarray)) and all(
        isinstance(v, (str, int, np.str_, np.integer)) for v in values)
    if not ok:
        raise ValueError(f'{path}: the ids of task {task!r} must be a list '
                         f'of image ids, got {type(values).__name__}')
    return np.asarray([str(i) for i in values], dtype=str)


def _load_npy(path: str, task_order) -> LabelMask:
    obj = read_npy_safely(path)
    if obj.dtype == object and obj.shape == ():
        obj = obj.item()
    if isinstance(obj, dict):
        if not obj:
            raise ValueError(f'{path}: the {{task: [image_id, ...]}} dict '
                             'is empty')
        names = tuple(str(k) for k in obj)
        lists = [_id_list(obj[k], path, k) for k in obj]
        ids = np.unique(np.concatenate(lists)) if any(
            len(v) for v in lists) else np.zeros(0, dtype=str)
        mask = np.stack([np.isin(ids, v) for v in lists], axis=1)
        if task_order is not None:
            raise ValueError(f'{path}: task_order applies to unnamed '
                             'columns; this file names its tasks '
                             f'{names}, rename them with task_map')
        return LabelMask(mask, names, tuple(ids.tolist()), {}, path,
                         rows_ordered=False)
    if obj.dtype == object:
        raise ValueError(f'{path}: expected a {{task: [image_id, ...]}} dict '
                         'or a 2-D 0/1 array, got an object array of shape '
                         f'{obj.shape}')
    mask = _as_01(obj, path, 'the array')
    names = tuple(task_order) if task_order is not None else None
    return LabelMask(mask, names, None, {}, path)


def _load_npz(path: str) -> LabelMask:
    with np.load(path, allow_pickle=False) as data:
        for key in ('mask', 'task_names'):
            if key not in data.files:
                raise KeyError(f'{path}: missing array "{key}" (a file '
                               f'written by save_mask has {key}); found '
                               f'{data.files}')
        mask = _as_01(data['mask'], path, '"mask"')
        names = tuple(str(t) for t in data['task_names'].tolist())
        ids = tuple(str(i) for i in data['image_ids'].tolist()) \
            if 'image_ids' in data.files else None
        meta = json.loads(str(data['meta'])) if 'meta' in data.files else {}
    return LabelMask(mask, names, ids, meta, path)


def _load_json(path: str) -> LabelMask:
    with open(path, encoding='utf-8') as f:
        obj = json.load(f)
    if not isinstance(obj, dict) or 'mask' not in obj \
            or 'task_names' not in obj:
        raise KeyError(f'{path}: expected a JSON object with "mask" and '
                       '"task_names" (written by save_mask)')
    mask = _as_01(np.asarray(obj['mask']).reshape(
        len(obj['mask']), len(obj['task_names'])), path, '"mask"')
    ids = obj.get('image_ids')
    return LabelMask(mask, tuple(obj['task_names']),
                     tuple(str(i) for i in ids) if ids is not None else None,
                     obj.get('meta') or {}, path)


def load_mask(path: str,
              task_order: Optional[Sequence[str]] = None) -> LabelMask:
    """Read a label-mask file (see the module docstring for the formats).

    Args:
        path (str): ``.npz``/``.json`` (from :func:`save_mask`),
            ``.pth``/``.pt`` (MTPSL/JTR) or ``.npy`` (MTPSL PASCAL).
        task_order (Sequence[str], optional): names of the columns of an
            unnamed matrix (``.pth`` or plain ``.npy``); defaults to the
            known order of the official files.

    Returns:
        LabelMask: the mask and what the file says about it.
    """
    path = str(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'label-mask file not found: {path}')
    ext = osp.splitext(path)[1].lower()
    if ext in ('.pth', '.pt'):
        record = _load_pth(path, task_order)
    elif ext == '.npy':
        record = _load_npy(path, task_order)
    elif ext == '.npz':
        record = _load_npz(path)
    elif ext == '.json':
        record = _load_json(path)
    else:
        raise ValueError(f'{path}: unknown label-mask format "{ext}"; '
                         'expected .npz, .json, .pth, .pt or .npy')
    if record.task_names is not None:
        if len(record.task_names) != record.mask.shape[1]:
            raise ValueError(
                f'{path}: {record.mask.shape[1]} mask columns but '
                f'{len(record.task_names)} task names {record.task_names}')
        check_task_names(record.task_names, path)
    if record.image_ids is not None and \
            len(record.image_ids) != record.num_images:
        raise ValueError(f'{path}: {record.num_images} mask rows but '
                         f'{len(record.image_ids)} image ids')
    return record


def save_mask(path: str,
              mask: np.ndarray,
              task_names: Sequence[str],
              image_ids: Optional[Sequence[str]] = None,
              meta: Optional[dict] = None) -> str:
    """Write a label mask atomically (temp file + ``os.replace``, see
    :func:`mtlpartial.utils.atomic_io.atomic_write_bytes`).

    Args:
        path (str): ``.npz`` (compressed arrays ``mask``, ``task_names``,
            ``image_ids``, ``meta`` as a JSON string) or ``.json``.
        mask (np.ndarray): bool or 0/1 ``(N, K)``; every image needs a label.
        task_names (Sequence[str]): the ``K`` column names.
        image_ids (Sequence[str], optional): the ``N`` row ids.
        meta (dict, optional): JSON-serialisable information (setting, seed,
            ...); values that are not are written with ``str``.

    Returns:
        str: ``path``.
    """
    path = str(path)
    ext = osp.splitext(path)[1].lower()
    if ext not in ('.npz', '.json'):
        raise ValueError(f'save_mask: {path} must end with .npz or .json')
    names = check_task_names(task_names, f'save_mask({path})')
    mask = np.asarray(mask)
    ids = None if image_ids is None else [str(i) for i in image_ids]
    mask = check_label_mask(mask, names,
                            mask.shape[0] if mask.ndim else -1,
                            f'save_mask({path})', ids)
    if ids is not None and len(ids) != mask.shape[0]:
        raise ValueError(f'save_mask({path}): {len(ids)} image ids for '
                         f'{mask.shape[0]} mask rows')
    meta_json = json.dumps(meta or {}, default=str, sort_keys=True)
    if ext == '.npz':
        arrays = dict(
            mask=mask,
            task_names=np.asarray(names, dtype=str),
            meta=np.asarray(meta_json))
        if ids is not None:
            arrays['image_ids'] = np.asarray(ids, dtype=str)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        data = buffer.getvalue()
    else:
        data = json.dumps(dict(
            format=FORMAT_NAME,
            version=FORMAT_VERSION,
            task_names=list(names),
            image_ids=ids,
            mask=mask.astype(np.uint8).tolist(),
            meta=json.loads(meta_json))).encode('utf-8')
    atomic_write_bytes(data, path)  # umask permissions, like open()
    return path
