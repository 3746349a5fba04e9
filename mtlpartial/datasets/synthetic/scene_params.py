# Copyright (c) mtlpartial contributors. All rights reserved.
"""Classes, scene parameters (defaults and checks), camera intrinsics and
the per-image random stream of :func:`~.scene_renderer.render_scene`."""
import zlib
from typing import Any, Dict, Sequence, Tuple

import numpy as np

SYNTHETIC_CLASSES: Tuple[str, ...] = ('floor', 'wall', 'sphere', 'box',
                                      'cylinder', 'panel')
SYNTHETIC_OBJECT_CLASSES: Tuple[str, ...] = SYNTHETIC_CLASSES[2:]
CLASS_ID = {name: i for i, name in enumerate(SYNTHETIC_CLASSES)}

# Mean albedo (RGB) per class. The per-object spread (``color_spread``) and
# the shading make the class distributions overlap heavily.
ALBEDO_MEAN = np.array([
    [0.52, 0.46, 0.40],  # floor
    [0.58, 0.55, 0.50],  # wall
    [0.60, 0.42, 0.38],  # sphere
    [0.45, 0.48, 0.56],  # box
    [0.44, 0.55, 0.44],  # cylinder
    [0.58, 0.54, 0.40],  # panel
])

# Parameters besides the explicit arguments of ``render_scene``. Pairs are
# ``(low, high)`` ranges sampled uniformly per image.
SCENE_DEFAULTS: Dict[str, Any] = dict(
    fov=60.0,                        # horizontal field of view (degrees)
    camera_height=(1.2, 1.7),        # metres above the floor
    camera_pitch=(8.0, 22.0),        # degrees, looking down
    camera_yaw=(-12.0, 12.0),        # degrees
    camera_roll=(-3.0, 3.0),         # degrees
    wall_distance=(4.5, 7.0),        # metres from the camera to back wall
    side_wall_prob=0.5,              # per side
    side_wall_distance=(2.0, 3.5),   # metres from the camera axis
    object_classes=SYNTHETIC_OBJECT_CLASSES,
    float_prob=0.25,                 # sphere floats above the floor
    panel_scale=1.0,                 # scales the panels' half-extents
                                     # (each panel's draws do not change)
    ambient=(0.2, 0.4),
    light_elevation=(25.0, 70.0),    # degrees above the horizon
    light_azimuth=(-70.0, 70.0),     # degrees around the camera's back
    shadows=True,
    color_spread=0.14,               # std of the per-object albedo
    albedo_contrast=1.0,             # scales class means' distance to their
                                     # grand mean (1: the table above)
    texture_amp=(0.05, 0.3),
    texture_freq=(1.0, 6.0),         # cycles per metre
    exposure=(0.8, 1.2),
    num_holes=(0, 3),                # Kinect-like depth/normal holes
    hole_radius=(0.8, 2.5),          # pixels
    edge_depth_thresh=0.04,          # relative depth jump of an edge
)

_SEED_TAG = 0x5CE7E  # keeps these streams apart from other seed uses


def camera_intrinsics(height: int, width: int,
                      fov: float = SCENE_DEFAULTS['fov']
                      ) -> Tuple[float, float, float, float]:
    """Pinhole intrinsics ``(fx, fy, cx, cy)`` of the rendered images.

    Square pixels; pixel ``(i, j)`` (row, column) has its centre at
    ``(u, v) = (j + 0.5, i + 0.5)``. A camera-frame point ``(X, Y, Z)`` in
    the OpenCV frame (x right, y down, z forward, ``Z`` = depth) projects to
    ``u = fx X / Z + cx``, ``v = fy Y / Z + cy``.

    Args:
        height (int): image height in pixels.
        width (int): image width in pixels.
        fov (float): horizontal field of view in degrees.
    """
    f = (width / 2.0) / np.tan(np.deg2rad(fov) / 2.0)
    return float(f), float(f), width / 2.0, height / 2.0


def _range(params: Dict[str, Any], key: str, low: float = -np.inf,
           high: float = np.inf) -> Tuple[float, float]:
    value = params[key]
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f'render_scene: "{key}" must be a (low, high) '
                         f'pair of numbers, got {value!r}') from None
    if not (low <= lo <= hi <= high):
        raise ValueError(f'render_scene: "{key}" must satisfy {low} <= low '
                         f'<= high <= {high}, got {value!r}')
    return lo, hi


def check_params(height: int, width: int, num_objects: Sequence[int],
                 noise_std: float, blur: float,
                 kwargs: Dict[str, Any]) -> Dict[str, Any]:
    unknown = sorted(set(kwargs) - set(SCENE_DEFAULTS))
    if unknown:
        raise TypeError(f'render_scene: unknown scene parameter(s) {unknown}'
                        f'; valid ones are {sorted(SCENE_DEFAULTS)} plus '
                        'height, width, num_objects, noise_std, blur')
    p = dict(SCENE_DEFAULTS, **kwargs)
    for key, val in (('height', height), ('width', width)):
        if not isinstance(val, (int, np.integer)) or val < 2:
            raise ValueError(f'render_scene: "{key}" must be an int >= 2, '
                             f'got {val!r}')
    p['num_objects'] = num_objects
    for key in ('num_objects', 'num_holes'):
        lo, hi = _range(p, key, 0)
        if lo != int(lo) or hi != int(hi):
            raise ValueError(f'render_scene: "{key}" must be a pair of '
                             f'ints, got {p[key]!r}')
        p[key] = (int(lo), int(hi))
    for key, val in (('noise_std', noise_std), ('blur', blur)):
        if not isinstance(val, (int, float, np.number)) or not (
                np.isfinite(val) and val >= 0):
            raise ValueError(f'render_scene: "{key}" must be a number >= 0,'
                             f' got {val!r}')
    p['noise_std'], p['blur'] = float(noise_std), float(blur)
    if not isinstance(p['fov'], (int, float, np.number)) or not (
            10.0 <= p['fov'] <= 120.0):
        raise ValueError('render_scene: "fov" must be in [10, 120] degrees, '
                         f'got {p["fov"]!r}')
    for key, low, high in (('camera_height', 0.1, 50.0),
                           ('camera_pitch', -30.0, 80.0),
                           ('camera_yaw', -30.0, 30.0),
                           ('camera_roll', -45.0, 45.0),
                           ('wall_distance', 3.0, 1e3),
                           ('side_wall_distance', 1.5, 1e3),
                           ('ambient', 0.0, 1.0),
                           ('light_elevation', 0.0, 90.0),
                           ('light_azimuth', -90.0, 90.0),
                           ('texture_amp', 0.0, 1.0),
                           ('texture_freq', 0.0, 1e3),
                           ('exposure', 0.0, 10.0),
                           ('hole_radius', 0.0, 1e4)):
        p[key] = _range(p, key, low, high)
    for key in ('side_wall_prob', 'float_prob'):
        if not isinstance(p[key], (int, float, np.number)) or not (
                0.0 <= p[key] <= 1.0):
            raise ValueError(f'render_scene: "{key}" must be a probability '
                             f'in [0, 1], got {p[key]!r}')
    for key, zero_ok in (('color_spread', True), ('edge_depth_thresh', True),
                         ('albedo_contrast', True), ('panel_scale', False)):
        if not isinstance(p[key], (int, float, np.number)) or not (
                np.isfinite(p[key]) and (p[key] >= 0 if zero_ok
                                         else p[key] > 0)):
            raise ValueError(f'render_scene: "{key}" must be '
                             f'{">= 0" if zero_ok else "> 0"}, got '
                             f'{p[key]!r}')
    classes = p['object_classes']
    if isinstance(classes, str) or not classes or any(
            c not in SYNTHETIC_OBJECT_CLASSES for c in classes):
        raise ValueError('render_scene: "object_classes" must be a non-empty '
                         f'sequence drawn from {SYNTHETIC_OBJECT_CLASSES}, '
                         f'got {classes!r}')
    p['object_classes'] = tuple(classes)
    return p


def make_rng(seed: int, split: str, index: int) -> np.random.Generator:
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f'render_scene: "seed" must be an int >= 0, got '
                         f'{seed!r}')
    if not isinstance(split, str) or not split:
        raise ValueError(f'render_scene: "split" must be a non-empty str '
                         f'such as "train", "val" or "test", got {split!r}')
    if not isinstance(index, (int, np.integer)) or index < 0:
        raise ValueError(f'render_scene: "index" must be an int >= 0, got '
                         f'{index!r}')
    split_key = zlib.crc32(split.encode('utf-8'))
    ss = np.random.SeedSequence([_SEED_TAG, int(seed), split_key,
                                 int(index)])
    return np.random.default_rng(ss)


