# Copyright (c) mtlpartial contributors. All rights reserved.
import random
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform, Compose

from mtlpartial.registry import TRANSFORMS
from .geometric import IDENTITY_BOX, compose_box, relative_box


def view_copy(results: dict) -> dict:
    """A copy of ``results`` for one view: own ``gt_maps`` dict, region
    reset to the identity (transforms never modify arrays in place)."""
    out = dict(results)
    out['gt_maps'] = dict(results.get('gt_maps', {}))
    out['crop_box'] = np.array(IDENTITY_BOX)
    out['flip'] = False
    out.pop('scale_crop', None)
    return out


@contextmanager
def derived_global_rng() -> Iterator[None]:
    """Run a block on a random stream derived from the global ``random``
    and ``np.random`` states, then restore them as they were.

    The derived seed is a pure function of the current global states, so
    the block is reproducible (and resumes exactly with the states), but
    the global streams are not consumed: what is drawn after the block is
    what would have been drawn without it.
    """
    py_state = random.getstate()
    np_state = np.random.get_state()
    words = [int(w) for w in np_state[1]] + [int(np_state[2])] + \
        [int(w) for w in py_state[1]]
    seed = np.random.SeedSequence(words).generate_state(1)[0]
    random.seed(int(seed))
    np.random.seed(int(seed))
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


@TRANSFORMS.register_module()
class MultiView(BaseTransform):
    """Make ``num_views`` augmented views of one sample (MTPSL / JTR).

    * ``nested=True`` (MTPSL, JTR): view 0 is the input (the result of the
      preceding transforms); view ``v >= 1`` is ``view_transforms``
      applied to view 0, e.g. ``view 1 = RSC(view 0)``, ``view 2 =
      RSC(view 0)`` with independent draws.
    * ``nested=False``: every view, view 0 included, is
      ``view_transforms`` applied independently to the input (view boxes
      may then leave ``[0, 1]``).

    Views ``v >= 1`` draw their random numbers from a stream derived from
    the global one without consuming it (:func:`derived_global_rng`), so the
    first view and the draws of later samples are the same whatever
    ``num_views`` is: for a given seed, runs of methods with 1, 2 or 3 views
    see the same view-0 augmentations (paired comparisons).

    The ground truth of the labelled tasks is transformed identically with
    each view; all views share the sample's label mask. Images become
    ``(V, H, W, 3)`` and ground truth ``(V, H, W, C)`` (all views must have
    the same size; RandomScaleCrop keeps it). Photometric transforms after
    MultiView act on each view independently.

    Added keys:

    * ``view_boxes``: ``(V, 4)`` float32 ``(x0, y0, x1, y1)``, the region
      of view 0 that view ``v`` shows, in normalised view-0 coordinates
      (view 0 = ``(0, 0, 1, 1)``): view ``v`` equals
      ``flip?(resize(crop(view0, box)))``;
    * ``view_flips``: ``(V,)`` bool, view ``v`` flipped relative to view 0;
    * ``num_views``.

    Args:
        num_views (int): number of views, >= 1.
        view_transforms (Sequence[dict | callable]): transforms making a
            view (geometric ones: RandomScaleCrop, RandomFlip, ...).
        nested (bool): see above. Defaults to True.
    """

    def __init__(self,
                 num_views: int = 2,
                 view_transforms: Sequence = (),
                 nested: bool = True) -> None:
        if int(num_views) < 1:
            raise ValueError(f'MultiView: num_views must be >= 1, got '
                             f'{num_views}')
        self.num_views = int(num_views)
        self.view_pipeline = Compose(list(view_transforms))
        self.nested = nested

    def _make_view(self, results: dict) -> Optional[dict]:
        return self.view_pipeline(view_copy(results))

    def transform(self, results: dict) -> Optional[dict]:
        if results['img'].ndim != 3:
            raise ValueError('MultiView: the input already has views '
                             f'(image shape {results["img"].shape})')
        base_box = results.get('crop_box', np.array(IDENTITY_BOX))
        base_flip = bool(results.get('flip', False))
        if self.nested:
            views: List[dict] = [results]
            with derived_global_rng():
                for _ in range(1, self.num_views):
                    view = self._make_view(results)
                    if view is None:
                        return None
                    views.append(view)
            boxes = [np.array(IDENTITY_BOX)]
            flips = [False]
            for view in views[1:]:
                boxes.append(np.asarray(view['crop_box'], dtype=np.float64))
                flips.append(bool(view['flip']))
            out = results
        else:
            views = [self._make_view(results)]
            if views[0] is None:
                return None
            with derived_global_rng():
                for _ in range(1, self.num_views):
                    view = self._make_view(results)
                    if view is None:
                        return None
                    views.append(view)
            ref_box, ref_flip = views[0]['crop_box'], views[0]['flip']
            boxes, flips = [], []
            for view in views:
                box, flip = relative_box(view['crop_box'], view['flip'],
                                         ref_box, ref_flip)
                boxes.append(box)
                flips.append(flip)
            out = views[0]
            # view 0's region relative to the loaded image
            out['crop_box'], out['flip'] = compose_box(
                base_box, base_flip, ref_box, ref_flip)
        shapes = {v['img'].shape for v in views}
        if len(shapes) != 1:
            raise ValueError('MultiView: views have different image shapes '
                             f'{sorted(shapes)}; view transforms must keep '
                             'the size (RandomScaleCrop resizes back)')
        imgs = np.stack([v['img'] for v in views])
        gt_maps = {
            t: np.stack([v['gt_maps'][t] for v in views])
            for t in results.get('gt_maps', {})
        }
        out['img'] = imgs
        out['gt_maps'] = gt_maps
        out['img_shape'] = imgs.shape[1:3]
        out['view_boxes'] = np.stack(boxes).astype(np.float32)
        out['view_flips'] = np.array(flips, dtype=bool)
        out['num_views'] = self.num_views
        return out

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_views={self.num_views}, '
                f'view_transforms={self.view_pipeline.transforms}, '
                f'nested={self.nested})')
