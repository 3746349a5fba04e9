# Copyright (c) mtlpartial contributors. All rights reserved.
"""Build a label-dropping setting from a config, a name or a file path."""
import os.path as osp
from typing import Union

from mtlpartial.registry import PARTIAL_LABELS

#: Plain-string aliases (lower case, '_' and '-' ignored) of the settings.
SETTING_ALIASES = {
    'full': 'Full',
    'onelabel': 'OneLabel',
    'randomlabels': 'RandomLabels',
    'halflabels': 'HalfLabels',
}

_MASK_FILE_EXTS = {'.pth': 'OfficialMask', '.pt': 'OfficialMask',
                   '.npy': 'OfficialMask', '.npz': 'MaskFile',
                   '.json': 'MaskFile'}


def _normalise(name: str) -> str:
    return name.lower().replace('_', '').replace('-', '')


def build_partial_labels(cfg: Union[None, str, dict, object]):
    """Build a setting of ``PARTIAL_LABELS``.

    Args:
        cfg: one of

            * ``None``: :class:`Full`;
            * a built setting (anything with ``make_mask``): returned as is;
            * a dict config ``dict(type='OneLabel', seed=1)`` (``type`` may
              also be an alias such as ``'onelabel'``);
            * a string: an alias (``'full'``, ``'onelabel'``,
              ``'randomlabels'``, ``'halflabels'``; default arguments), a
              registered class name (``'OneLabel'``, or a plugin's name), or
              the path of a mask file (``.pth``/``.pt``/``.npy`` →
              :class:`OfficialMask`, ``.npz``/``.json`` → :class:`MaskFile`).

    Returns:
        The setting.
    """
    if cfg is None:
        cfg = dict(type='Full')
    elif hasattr(cfg, 'make_mask') and not isinstance(cfg, (str, dict)):
        return cfg
    elif isinstance(cfg, str):
        ext = osp.splitext(cfg)[1].lower()
        if ext in _MASK_FILE_EXTS:
            cfg = dict(type=_MASK_FILE_EXTS[ext], file=cfg)
        else:
            cfg = dict(type=cfg)
    elif isinstance(cfg, dict):
        cfg = dict(cfg)  # also turns an mmengine ConfigDict into a dict
        if 'type' not in cfg:
            raise KeyError(f'partial_labels config {cfg} has no "type"')
    else:
        raise TypeError('partial_labels must be None, a string, a dict '
                        'config or a setting object with make_mask, got '
                        f'{type(cfg).__name__}: {cfg!r}')
    typ = cfg['type']
    if isinstance(typ, str) and PARTIAL_LABELS.get(typ) is None:
        alias = SETTING_ALIASES.get(_normalise(typ))
        if alias is None:
            known = sorted(SETTING_ALIASES) + sorted(
                PARTIAL_LABELS.module_dict)
            raise KeyError(f'unknown partial-label setting "{typ}"; known: '
                           f'{known} (or a mask file path)')
        cfg['type'] = alias
    setting = PARTIAL_LABELS.build(cfg)
    if not callable(getattr(setting, 'make_mask', None)):
        raise TypeError(f'partial-label setting {type(setting).__name__} '
                        'has no make_mask(task_names, num_images, '
                        'image_ids=None) method')
    return setting
