# Copyright (c) mtlpartial contributors. All rights reserved.
"""Settings that read a fixed label mask from a file."""
from typing import Dict, Optional, Sequence

import numpy as np

from mtlpartial.registry import PARTIAL_LABELS
from .base import BasePartialLabels
from .mask_io import LabelMask, load_mask

#: Dataset task names tried, in order, for an official PASCAL key when no
#: ``task_map`` is given and the dataset has no task of the same name.
PASCAL_TASK_ALIASES = {
    'human_parts': ('parts', 'human_parts'),
    'edge': ('edges', 'boundary'),
    'semseg': ('seg', 'semantic'),
    'normals': ('normal', 'normals'),
    'sal': ('saliency', 'sal'),
}


@PARTIAL_LABELS.register_module()
class OfficialMask(BasePartialLabels):
    """A fixed mask from a file: MTPSL/JTR ``.pth``, MTPSL PASCAL ``.npy``.

    Columns are matched to the dataset's tasks by name, rows by image id
    when both the file and the dataset have ids (PASCAL id lists, files from
    :func:`save_mask`), otherwise by position (the row index of the MTPSL
    ``.pth`` matrices is the integer image id of the MTAN ``.npy`` layout).
    The file is read in :meth:`make_mask`, not in the constructor.

    Column names:

    * ``.pth``: ``task_order`` names the file's columns; default for the
      known files (path contains ``nyu``: ``(semseg, depth, normal)``;
      ``cityscapes``: ``(semseg, depth)``);
    * PASCAL ``.npy``: the dict keys ``human_parts, edge, semseg, normals,
      sal``; ``task_map`` renames them to the dataset's names. Without
      ``task_map`` a key is kept if the dataset has a task of that name,
      else the first dataset task among :data:`PASCAL_TASK_ALIASES` is used
      (``normals -> normal``, ``sal -> saliency``, ...; id-list files
      only);
    * ``.npz``/``.json`` from :func:`save_mask`: the stored names
      (``task_map`` renames them too).

    File columns that the dataset does not have are dropped (an image left
    without any label is then an error). Unlike MTPSL, which keeps loading
    the unlabelled ground truth and multiplies its loss by 0, the mask here
    decides which ground truth is loaded at all.

    Args:
        file (str): path of the mask file.
        task_order (Sequence[str], optional): dataset task name of each
            column of an unnamed matrix file.
        task_map (dict[str, str], optional): ``{file task: dataset task}``.
        allow_subset (bool): with id-matched rows, allow the dataset to use
            only some of the file's images (e.g. a debug subset). Defaults
            to False: the file and the dataset must have the same images.
    """

    def __init__(self,
                 file: str,
                 task_order: Optional[Sequence[str]] = None,
                 task_map: Optional[Dict[str, str]] = None,
                 allow_subset: bool = False) -> None:
        if not isinstance(file, str) or not file:
            raise TypeError(f'{type(self).__name__}: file must be a path '
                            f'string, got {file!r}')
        if isinstance(task_order, str):
            raise TypeError(f'{type(self).__name__}: task_order must be a '
                            f'sequence of task names, got {task_order!r}')
        self.file = file
        self.task_order = tuple(task_order) if task_order is not None \
            else None
        self.task_map = dict(task_map) if task_map is not None else None
        self.allow_subset = allow_subset

    def _args(self) -> dict:
        args = dict(file=self.file)
        if self.task_order is not None:
            args['task_order'] = self.task_order
        if self.task_map is not None:
            args['task_map'] = self.task_map
        if self.allow_subset:
            args['allow_subset'] = True
        return args

    def load(self) -> LabelMask:
        """Read the file (columns named, rows as stored)."""
        return load_mask(self.file, self.task_order)

    def _column_names(self, record: LabelMask, task_names) -> list:
        if record.task_names is None:
            raise ValueError(
                f'{self!r}: the file does not name its {record.mask.shape[1]}'
                ' columns and no default order is known for it; pass '
                'task_order=[...] (one dataset task name per column)')
        names = list(record.task_names)
        if self.task_map is not None:
            unknown = [k for k in self.task_map if k not in names]
            if unknown:
                raise ValueError(f'{self!r}: task_map keys {unknown} are not '
                                 f'tasks of the file (file tasks: {names})')
            return [self.task_map.get(t, t) for t in names]
        if record.rows_ordered:  # aliases only for PASCAL id-list files
            return names
        renamed = []
        for t in names:
            if t not in task_names:
                t = next((a for a in PASCAL_TASK_ALIASES.get(t, ())
                          if a in task_names), t)
            renamed.append(t)
        return renamed

    def _rows(self, record: LabelMask, num_images: int,
              image_ids: Optional[list]) -> np.ndarray:
        path = record.path
        if record.image_ids is not None and image_ids is not None:
            file_ids = np.asarray(record.image_ids, dtype=str)
            order = np.argsort(file_ids, kind='stable')
            sorted_ids = file_ids[order]
            want = np.asarray(image_ids, dtype=str)
            pos = np.searchsorted(sorted_ids, want)
            pos_c = np.minimum(pos, len(sorted_ids) - 1)
            found = (pos < len(sorted_ids)) & (sorted_ids[pos_c] == want)
            if not found.all():
                bad = np.flatnonzero(~found)
                raise ValueError(
                    f'{self!r}: image id {str(want[bad[0]])!r} (dataset '
                    f'index {int(bad[0])}) is not in {path}, so it has no '
                    'label '
                    f'({bad.size} dataset image(s) missing from the file)')
            if not self.allow_subset and record.num_images != num_images:
                raise ValueError(
                    f'{self!r}: {path} has {record.num_images} images but '
                    f'the dataset has {num_images} (pass allow_subset=True '
                    'to use a subset of the file)')
            return order[pos]
        if not record.rows_ordered:
            raise ValueError(f'{self!r}: {path} lists image ids per task; '
                             'the dataset must pass image_ids to make_mask')
        if record.num_images != num_images:
            raise ValueError(
                f'{self!r}: {path} has {record.num_images} images but the '
                f'dataset has {num_images}')
        return np.arange(num_images)

    def _make_mask(self, task_names, num_images, image_ids):
        record = self.load()
        names = self._column_names(record, task_names)
        dup = sorted({t for t in names if names.count(t) > 1})
        if dup:
            raise ValueError(f'{self!r}: several file columns map to the '
                             f'dataset tasks {dup} (columns: {names})')
        missing = [t for t in task_names if t not in names]
        if missing:
            raise ValueError(
                f'{self!r}: dataset tasks {missing} have no column in '
                f'{record.path} (file tasks {list(record.task_names)}, '
                f'mapped to {names}); set task_order or task_map')
        cols = [names.index(t) for t in task_names]
        rows = self._rows(record, num_images, image_ids)
        return record.mask[rows][:, cols]


@PARTIAL_LABELS.register_module()
class MaskFile(OfficialMask):
    """A mask saved by :func:`save_mask` (``.npz``/``.json``), e.g. the
    ``label_mask.npz`` that ``SaveLabelMaskHook`` writes to the work dir.

    Same matching rules as :class:`OfficialMask` (it reads every format of
    :func:`load_mask`); columns are named in the file, rows are matched by
    image id when both sides have ids.
    """
