# Copyright (c) mtlpartial contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mtlpartial.registry import DATASETS
from ..base_multitask_dataset import MultiTaskDataset, check_image
from .scene_renderer import SYNTHETIC_CLASSES, render_scene

#: renderer output -> expected task kind
SYNTHETIC_TASKS = dict(
    semseg='semseg',
    depth='depth',
    normal='normal',
    edge='binary',
    saliency='binary')


@DATASETS.register_module()
class SyntheticSceneDataset(MultiTaskDataset):
    """Procedurally rendered scenes (no files), the project's NYUv2 proxy.

    Image ``i`` of ``split`` is a pure function of ``(seed, split, i)`` and
    the renderer parameters (:func:`render_scene`), so train and val are
    disjoint and every run sees the same data. Rendering happens in the
    dataloader workers; only the image and the **labelled** tasks' maps
    are kept (and cached when ``cache=True``).

    Args:
        num_images (int): number of images of the split.
        seed (int): dataset seed. Defaults to 0.
        split (str): split name ('train', 'val', 'test', ...).
        height (int): image height. Defaults to 64.
        width (int): image width. Defaults to 80.
        num_objects (tuple[int, int]): range of primitives per scene.
        noise_std (float): sensor noise std. Defaults to 0.03.
        blur (float): blur sigma in pixels. Defaults to 0.6.
        scene (dict, optional): further renderer parameters
            (``SCENE_DEFAULTS`` keys, e.g. ``dict(fov=50.)``).
        cache (bool): keep rendered samples in memory (per worker).
            Defaults to True.
        tasks (dict, optional): task specs, a subset of semseg, depth,
            normal, edge, saliency. Defaults to semseg (6 classes), depth
            and normal.
        **kwargs: see :class:`MultiTaskDataset` (``data_root`` is unused).
    """

    def __init__(self,
                 num_images: int,
                 seed: int = 0,
                 split: str = 'train',
                 height: int = 64,
                 width: int = 80,
                 num_objects: Sequence[int] = (2, 5),
                 noise_std: float = 0.03,
                 blur: float = 0.6,
                 scene: Optional[dict] = None,
                 cache: bool = True,
                 **kwargs) -> None:
        if int(num_images) < 1:
            raise ValueError('SyntheticSceneDataset: num_images must be >= '
                             f'1, got {num_images}')
        self.num_images = int(num_images)
        self.seed = int(seed)
        self.render_args = dict(
            height=int(height),
            width=int(width),
            num_objects=tuple(num_objects),
            noise_std=float(noise_std),
            blur=float(blur),
            **(scene or {}))
        self.cache = cache
        self._cache: Dict[int, Tuple[np.ndarray, Dict[str, np.ndarray]]] = {}
        kwargs.setdefault('check_files', False)
        super().__init__(split=split, **kwargs)
        self._metainfo.update(render_args=self.render_args, seed=self.seed)

    def default_tasks(self) -> Dict[str, dict]:
        return dict(
            semseg=dict(
                type='SemSegTask',
                num_classes=len(SYNTHETIC_CLASSES),
                class_names=SYNTHETIC_CLASSES),
            # tools/misc/depth_stats.py on the default scenes
            depth=dict(type='DepthTask', stats=(3.87, 1.62)),
            normal=dict(type='NormalTask'))

    def supported_tasks(self) -> Dict[str, str]:
        return dict(SYNTHETIC_TASKS)

    def load_image_list(self) -> List[dict]:
        return [
            dict(image_id=i, img_path=f'synthetic://{self.split}/{i}')
            for i in range(self.num_images)
        ]

    def render(self, index: int, labelled: Sequence[str]
               ) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
        """Render image ``index``; returns the image and the validated
        maps of the ``labelled`` tasks only."""
        key = int(index)
        if self.cache and key in self._cache:
            img, maps = self._cache[key]
            if all(t in maps for t in labelled):
                return img, {t: maps[t] for t in labelled}
        out = render_scene(self.seed, self.split, key, **self.render_args)
        where = f'synthetic {self.split}[{key}] (seed {self.seed})'
        img = check_image(out['img'], where)
        maps = {
            t: self.task_specs[t].validate_gt(out[t], where=f'{where}.{t}')
            for t in labelled
        }
        if self.cache:
            self._cache[key] = (img, maps)
        return img, maps

    def load_sample(self, info: dict) -> dict:
        img, maps = self.render(info['image_id'], info['labelled_tasks'])
        return self.make_results(info, img.copy(),
                                 {t: m.copy()
                                  for t, m in maps.items()},
                                 info['img_path'])
