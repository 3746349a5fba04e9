# Copyright (c) mtlpartial contributors. All rights reserved.
"""Procedural indoor-like scenes, ray cast analytically with numpy.

:func:`render_scene` is a pure function of ``(seed, split, index)`` and the
scene parameters. A pinhole camera looks at a floor, a back wall (and maybe
side walls) and a few primitives (spheres, yaw-rotated boxes, vertical
cylinders, tilted rectangular panels). Every output is derived from the same
scene description, so the tasks are really related:

* ``semseg``: class of the primitive seen at the pixel;
* ``depth``: z-depth in metres (distance along the optical axis, as the
  NYUv2 Kinect depth), 0 in a few small Kinect-like holes;
* ``normal``: analytic surface normal in the camera frame, **x right, y up,
  z toward the camera** (visible surfaces have ``z > 0``); zero vector in the
  depth holes;
* ``edge``: depth or class discontinuities (both pixels of a pair);
* ``saliency``: foreground objects (not floor or wall);
* ``img``: Lambert shading with a random directional light, ambient term and
  cast shadows, per-object albedo drawn from overlapping per-class colour
  distributions, 3D procedural texture, a light tint, blur and sensor noise.

See ``docs/synthetic.md`` for the parameters and the measured sanity checks.
"""
import functools
import zlib
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = [
    'SYNTHETIC_CLASSES', 'SYNTHETIC_OBJECT_CLASSES', 'SCENE_DEFAULTS',
    'render_scene', 'camera_intrinsics'
]

SYNTHETIC_CLASSES: Tuple[str, ...] = ('floor', 'wall', 'sphere', 'box',
                                      'cylinder', 'panel')
SYNTHETIC_OBJECT_CLASSES: Tuple[str, ...] = SYNTHETIC_CLASSES[2:]
_CLS = {name: i for i, name in enumerate(SYNTHETIC_CLASSES)}

# Mean albedo (RGB) per class. The per-object spread (``color_spread``) and
# the shading make the class distributions overlap heavily.
_ALBEDO_MEAN = np.array([
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

_EPS = 1e-6
_CUBE = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1)
                  for z in (-1, 1)], dtype=np.float64)
_INF = np.inf
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


# --------------------------------------------------------------------------
# parameter handling
# --------------------------------------------------------------------------
def _range(params: Dict[str, Any], key: str, low: float = -_INF,
           high: float = _INF) -> Tuple[float, float]:
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


def _check_params(height: int, width: int, num_objects: Sequence[int],
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
    for key in ('color_spread', 'edge_depth_thresh', 'albedo_contrast'):
        if not isinstance(p[key], (int, float, np.number)) or not (
                np.isfinite(p[key]) and p[key] >= 0):
            raise ValueError(f'render_scene: "{key}" must be >= 0, got '
                             f'{p[key]!r}')
    classes = p['object_classes']
    if isinstance(classes, str) or not classes or any(
            c not in SYNTHETIC_OBJECT_CLASSES for c in classes):
        raise ValueError('render_scene: "object_classes" must be a non-empty '
                         f'sequence drawn from {SYNTHETIC_OBJECT_CLASSES}, '
                         f'got {classes!r}')
    p['object_classes'] = tuple(classes)
    return p


def _make_rng(seed: int, split: str, index: int) -> np.random.Generator:
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


# --------------------------------------------------------------------------
# geometry
# --------------------------------------------------------------------------
def _rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _first_positive(t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """Nearest root > eps of a pair ``t1 <= t2`` (nan = no root)."""
    t = np.where(t1 > _EPS, t1, np.where(t2 > _EPS, t2, _INF))
    return np.where(np.isnan(t), _INF, t)


class _Plane:
    """Infinite plane through ``point`` seen from the side of ``normal``."""

    def __init__(self, point, normal) -> None:
        self.point = np.asarray(point, dtype=np.float64)
        self.n = np.asarray(normal, dtype=np.float64)

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        dn = d @ self.n
        with np.errstate(divide='ignore', invalid='ignore'):
            t = ((self.point - o) @ self.n) / dn
        return np.where((dn < -1e-12) & (t > _EPS), t, _INF)

    def normal(self, p: np.ndarray, d: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.n, p.shape)


class _Sphere:

    def __init__(self, center, radius: float) -> None:
        self.c = np.asarray(center, dtype=np.float64)
        self.r = radius
        self.bound = (self.c, radius)

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        oc = o - self.c
        a = np.einsum('...i,...i->...', d, d)
        b = np.einsum('...i,...i->...', oc, d)
        c = np.einsum('...i,...i->...', oc, oc) - self.r * self.r
        with np.errstate(invalid='ignore'):
            s = np.sqrt(b * b - a * c)
        return _first_positive((-b - s) / a, (-b + s) / a)

    def normal(self, p: np.ndarray, d: np.ndarray) -> np.ndarray:
        return (p - self.c) / self.r


class _Box:
    """Box resting on the floor, rotated by ``yaw`` about the vertical."""

    def __init__(self, center, half, yaw: float) -> None:
        self.c = np.asarray(center, dtype=np.float64)
        self.h = np.asarray(half, dtype=np.float64)
        self.rot = _rot_y(yaw)  # local -> world
        self.bound = (self.c, float(np.linalg.norm(self.h)))

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        ol = (o - self.c) @ self.rot
        dl = d @ self.rot
        dl = np.where(np.abs(dl) < 1e-12, 1e-12, dl)
        inv = 1.0 / dl
        ta = (-self.h - ol) * inv
        tb = (self.h - ol) * inv
        lo, hi = np.minimum(ta, tb), np.maximum(ta, tb)
        tmin = np.maximum(np.maximum(lo[:, 0], lo[:, 1]), lo[:, 2])
        tmax = np.minimum(np.minimum(hi[:, 0], hi[:, 1]), hi[:, 2])
        t = np.where(tmin > _EPS, tmin, tmax)
        return np.where((tmax >= tmin) & (t > _EPS), t, _INF)

    def normal(self, p: np.ndarray, d: np.ndarray) -> np.ndarray:
        pl = (p - self.c) @ self.rot
        axis = np.argmax(np.abs(pl) / self.h, axis=-1)
        nl = np.zeros_like(pl)
        rows = np.arange(len(pl))
        nl[rows, axis] = np.sign(pl[rows, axis])
        return nl @ self.rot.T


class _Cylinder:
    """Vertical cylinder standing on the floor, with caps."""

    def __init__(self, base, radius: float, height: float) -> None:
        self.b = np.asarray(base, dtype=np.float64)
        self.r = radius
        self.hgt = height
        self.bound = (self.b + (0.0, height / 2.0, 0.0),
                      float(np.hypot(radius, height / 2.0)))

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        ol = o - self.b
        ox, oy, oz = ol[..., 0], ol[..., 1], ol[..., 2]
        dx, dy, dz = d[..., 0], d[..., 1], d[..., 2]
        a = dx * dx + dz * dz
        b = ox * dx + oz * dz
        c = ox * ox + oz * oz - self.r * self.r
        with np.errstate(invalid='ignore', divide='ignore'):
            s = np.sqrt(b * b - a * c)
            t1 = (-b - s) / a
            t2 = (-b + s) / a
        y1, y2 = oy + t1 * dy, oy + t2 * dy
        t1 = np.where((y1 >= 0) & (y1 <= self.hgt), t1, np.nan)
        t2 = np.where((y2 >= 0) & (y2 <= self.hgt), t2, np.nan)
        t = np.fmin(_first_positive(t1, t1), _first_positive(t2, t2))
        with np.errstate(divide='ignore', invalid='ignore'):
            for cap in (0.0, self.hgt):
                tc = (cap - oy) / dy
                xc, zc = ox + tc * dx, oz + tc * dz
                ok = (xc * xc + zc * zc <= self.r * self.r) & (tc > _EPS)
                t = np.where(ok & (tc < t), tc, t)
        return t

    def normal(self, p: np.ndarray, d: np.ndarray) -> np.ndarray:
        pl = p - self.b
        half = self.hgt / 2.0
        radial = np.hypot(pl[:, 0], pl[:, 2]) / self.r
        vert = np.abs(pl[:, 1] - half) / half
        n = np.zeros_like(pl)
        cap = vert > radial
        n[:, 1] = np.where(cap, np.sign(pl[:, 1] - half), 0.0)
        side = ~cap
        n[side, 0] = pl[side, 0] / self.r
        n[side, 2] = pl[side, 2] / self.r
        return n / np.linalg.norm(n, axis=-1, keepdims=True)


class _Panel:
    """Thin two-sided rectangle with half sizes ``half = (sa, sb)``."""

    def __init__(self, center, rot: np.ndarray, half) -> None:
        self.c = np.asarray(center, dtype=np.float64)
        self.a, self.b = rot[:, 0], rot[:, 1]
        self.n = -rot[:, 2]
        self.half = half
        self.bound = (self.c, float(np.hypot(*half)))

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        dn = d @ self.n
        dn = np.where(np.abs(dn) < 1e-12, 1e-12, dn)
        co = self.c - o
        t = (co @ self.n) / dn
        # (p - c) = t d - (c - o)
        pa = t * (d @ self.a) - co @ self.a
        pb = t * (d @ self.b) - co @ self.b
        ok = (np.abs(pa) <= self.half[0]) & (np.abs(pb) <= self.half[1])
        return np.where(ok & (t > _EPS), t, _INF)

    def normal(self, p: np.ndarray, d: np.ndarray) -> np.ndarray:
        sign = -np.sign(d @ self.n)
        return sign[:, None] * self.n


# --------------------------------------------------------------------------
# scene sampling
# --------------------------------------------------------------------------
def _sample_objects(rng: np.random.Generator, p: Dict[str, Any],
                    yaw: float, wall_z: float, x_lim: Tuple[float, float]):
    """Sample primitives on the floor; returns [(class_id, primitive)]."""
    half_fov = np.deg2rad(p['fov']) / 2.0
    num = int(rng.integers(p['num_objects'][0], p['num_objects'][1] + 1))
    objects, footprints = [], []
    for _ in range(num):
        name = p['object_classes'][int(rng.integers(len(
            p['object_classes'])))]
        if name == 'sphere':
            r = rng.uniform(0.25, 0.6)
            foot = r
            lift = rng.uniform(0.2, 1.0) if rng.random() < p[
                'float_prob'] else 0.0
        elif name == 'box':
            half = rng.uniform(0.2, 0.55, 3)
            box_yaw = rng.uniform(-np.pi / 2, np.pi / 2)
            foot = float(np.hypot(half[0], half[2]))
        elif name == 'cylinder':
            r, hgt = rng.uniform(0.15, 0.4), rng.uniform(0.5, 1.5)
            foot = r
        else:
            half = rng.uniform((0.3, 0.25), (0.7, 0.6))
            rot = _rot_y(rng.uniform(-1.0, 1.0)) @ _rot_x(
                rng.uniform(-0.9, 0.9))
            lowest = half[0] * abs(rot[1, 0]) + half[1] * abs(rot[1, 1])
            height = lowest + 0.02 + rng.uniform(0.0, 1.0)
            foot = float(half[0])
        # position: bearing within the view, distance before the wall
        for _try in range(8):
            bearing = yaw + rng.uniform(-0.85, 0.85) * half_fov
            far = max(wall_z - foot - 0.1, 1.7)
            dist = 1.6 + (far - 1.6) * rng.random()**1.5  # nearer: bigger
            x = float(np.clip(dist * np.sin(bearing), x_lim[0] + foot,
                              x_lim[1] - foot))
            z = float(min(dist * np.cos(bearing), far))
            if all(np.hypot(x - fx, z - fz) > foot + fr
                   for fx, fz, fr in footprints):
                break
        footprints.append((x, z, foot))
        if name == 'sphere':
            prim = _Sphere((x, r + lift, z), r)
        elif name == 'box':
            prim = _Box((x, half[1], z), half, box_yaw)
        elif name == 'cylinder':
            prim = _Cylinder((x, 0.0, z), r, hgt)
        else:
            prim = _Panel((x, height, z), rot, half)
        objects.append((_CLS[name], prim))
    return objects


def _screen_windows(prims: Sequence[Any], origin: np.ndarray,
                    cam_to_world: np.ndarray,
                    intrinsics: Tuple[float, float, float, float], h: int,
                    w: int) -> List[Optional[Tuple[slice, slice]]]:
    """Pixel windows (row, column slices) that contain each primitive.

    Projects the cube around a primitive's bounding sphere: the image of a
    convex set in front of the camera lies in the hull of its corners'
    images. Planes (and anything reaching behind the camera) get the whole
    image; ``None`` means off screen.
    """
    full = (slice(None), slice(None))
    objs = [k for k, pr in enumerate(prims) if not isinstance(pr, _Plane)]
    windows: List[Optional[Tuple[slice, slice]]] = [full] * len(prims)
    if not objs:
        return windows
    centre = np.array([prims[k].bound[0] for k in objs])
    radius = np.array([prims[k].bound[1] for k in objs])
    corners = centre[:, None] + radius[:, None, None] * _CUBE  # (K, 8, 3)
    cam = (corners - origin) @ cam_to_world
    fx, fy, cx, cy = intrinsics
    with np.errstate(divide='ignore', invalid='ignore'):
        u = fx * cam[..., 0] / cam[..., 2] + cx
        v = fy * cam[..., 1] / cam[..., 2] + cy
    # pixel j is inside when its centre j + 0.5 is in [u.min(), u.max()]
    behind = (cam[..., 2] < 1e-3).any(1).tolist()
    c0 = np.floor(u.min(1) - 0.5).clip(0, w).tolist()
    c1 = (np.ceil(u.max(1) - 0.5) + 1).clip(0, w).tolist()
    r0 = np.floor(v.min(1) - 0.5).clip(0, h).tolist()
    r1 = (np.ceil(v.max(1) - 0.5) + 1).clip(0, h).tolist()
    for i, k in enumerate(objs):
        if behind[i]:
            continue
        if c0[i] >= c1[i] or r0[i] >= r1[i]:
            windows[k] = None
        else:
            windows[k] = (slice(int(r0[i]), int(r1[i])),
                          slice(int(c0[i]), int(c1[i])))
    return windows


def _shadow_candidates(loc: Tuple[np.ndarray, np.ndarray, np.ndarray],
                       active: np.ndarray, frame: np.ndarray,
                       centre: np.ndarray, radius: float) -> np.ndarray:
    """Indices of the active shadow rays that may hit a bounding sphere.

    ``loc`` holds the ray origins' coordinates in the light-aligned
    ``frame`` (columns e1, e2, light): a ray can only hit the sphere if its
    line passes within ``radius`` of the centre and it does not start
    beyond the sphere.
    """
    ca, cb, cs = centre @ frame
    return np.flatnonzero(
        (np.square(loc[0] - ca) + np.square(loc[1] - cb) < radius * radius)
        & (loc[2] < cs + radius) & active)


@functools.lru_cache(maxsize=16)
def _blur_taps(size: int, sigma: float):
    """Gaussian taps and edge-clamped ('nearest') source indices."""
    radius = max(int(np.ceil(3.0 * sigma)), 1)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma)**2)
    kernel = (kernel / kernel.sum()).astype(np.float32)
    index = np.clip(np.arange(-radius, size + radius), 0, size - 1)
    index.flags.writeable = False
    return tuple(kernel.tolist()), index


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of an (H, W, C) image, edge padding.

    Shift-and-add instead of a BLAS product: small products are slow and
    unpredictable when BLAS threads compete with data-loader workers.
    """
    if sigma <= 0:
        return img
    h, w = img.shape[:2]
    kernel, index = _blur_taps(h, sigma)
    pad = img[index]
    out = kernel[0] * pad[:h]
    for i, k in enumerate(kernel[1:], 1):
        out += k * pad[i:i + h]
    kernel, index = _blur_taps(w, sigma)
    pad = out[:, index]
    out = kernel[0] * pad[:, :w]
    for i, k in enumerate(kernel[1:], 1):
        out += k * pad[:, i:i + w]
    return out


def _texture(rng: np.random.Generator, n: int, p: Dict[str, Any]):
    """Per-instance texture parameters (kind, amplitude, 3 wave vectors)."""
    kind = rng.integers(0, 4, n)  # 0 plain, 1 stripes, 2 checker, 3 blotch
    amp = rng.uniform(*p['texture_amp'], n)
    dirs = rng.normal(size=(n, 3, 3))
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    freq = rng.uniform(*p['texture_freq'], (n, 3, 1)) * 2 * np.pi
    phase = rng.uniform(0, 2 * np.pi, (n, 3))
    return kind, amp, dirs * freq, phase


def render_scene(seed: int,
                 split: str,
                 index: int,
                 height: int = 64,
                 width: int = 80,
                 num_objects: Tuple[int, int] = (2, 5),
                 noise_std: float = 0.03,
                 blur: float = 0.6,
                 **kwargs) -> Dict[str, np.ndarray]:
    """Render image ``index`` of ``split``: a pure function of its args.

    Args:
        seed (int): dataset seed (>= 0).
        split (str): split name; each name has its own random stream, so
            'train', 'val' and 'test' images are distinct scenes.
        index (int): image index (>= 0).
        height (int): image height. Defaults to 64.
        width (int): image width. Defaults to 80.
        num_objects (tuple[int, int]): inclusive range of the number of
            primitives. Defaults to (2, 5).
        noise_std (float): std of the additive Gaussian sensor noise on the
            [0, 1] image. Defaults to 0.03.
        blur (float): Gaussian blur sigma in pixels (0 = none), applied
            before the noise. Defaults to 0.6.
        **kwargs: scene parameters, see :data:`SCENE_DEFAULTS`.

    Returns:
        dict[str, np.ndarray]: ``img`` (H, W, 3) float32 in [0, 1];
        ``semseg`` (H, W) int64 ids into :data:`SYNTHETIC_CLASSES`;
        ``depth`` (H, W) float32 z-depth in metres, 0 = invalid;
        ``normal`` (H, W, 3) float32 unit normals, camera frame x right,
        y up, z toward the camera, zero = invalid; ``edge`` and
        ``saliency`` (H, W) uint8 in {0, 1}.
    """
    p = _check_params(height, width, num_objects, noise_std, blur, kwargs)
    rng = _make_rng(seed, split, index)
    h, w = int(height), int(width)

    # ---- camera: world frame x right, y up, z forward; floor y = 0 ----
    cam_h = rng.uniform(*p['camera_height'])
    pitch, yaw, roll = (np.deg2rad(rng.uniform(*p[k])) for k in (
        'camera_pitch', 'camera_yaw', 'camera_roll'))
    # OpenCV camera (x right, y down, z forward) -> world
    cam_to_world = (_rot_y(yaw) @ _rot_x(pitch) @ _rot_z(-roll)
                    @ np.diag([1.0, -1.0, 1.0]))
    origin = np.array([0.0, cam_h, 0.0])
    fx, fy, cx, cy = camera_intrinsics(h, w, p['fov'])
    u = (np.arange(w) + 0.5 - cx) / fx
    v = (np.arange(h) + 0.5 - cy) / fy
    dirs_cam = np.stack(np.broadcast_arrays(u[None, :], v[:, None],
                                            np.ones((1, 1))), -1)
    # camera z = 1, so the ray parameter t is the z-depth
    dirs = dirs_cam.reshape(-1, 3) @ cam_to_world.T

    # ---- room ----
    wall_z = rng.uniform(*p['wall_distance'])
    prims = [(_CLS['floor'], _Plane((0, 0, 0), (0, 1, 0))),
             (_CLS['wall'], _Plane((0, 0, wall_z), (0, 0, -1)))]
    x_lim = [-1e3, 1e3]
    for side in (-1.0, 1.0):
        dist = rng.uniform(*p['side_wall_distance'])
        if rng.random() < p['side_wall_prob']:
            prims.append((_CLS['wall'], _Plane((side * dist, 0, 0),
                                               (-side, 0, 0))))
            x_lim[int(side > 0)] = side * dist
    prims += _sample_objects(rng, p, yaw, wall_z, tuple(x_lim))

    # ---- primary rays: z-buffer over primitives ----
    depth2d = np.full((h, w), _INF)
    inst2d = np.zeros((h, w), dtype=np.int64)
    dirs2d = dirs.reshape(h, w, 3)
    all_windows = _screen_windows([pr for _, pr in prims], origin,
                                  cam_to_world, (fx, fy, cx, cy), h, w)
    windows = []  # (index, window) of the visible objects
    for k, ((_, prim), win) in enumerate(zip(prims, all_windows)):
        if win is None:
            continue
        if not isinstance(prim, _Plane):
            windows.append((k, win))
        t = prim.intersect(origin, dirs2d[win].reshape(-1, 3)).reshape(
            depth2d[win].shape)
        closer = t < depth2d[win]
        depth2d[win] = np.where(closer, t, depth2d[win])
        inst2d[win][closer] = k
    if not np.isfinite(depth2d).all():
        raise RuntimeError('render_scene: some camera rays hit nothing; '
                           'check camera_pitch/fov/wall parameters')
    inst = inst2d.reshape(-1)
    cls_of = np.array([c for c, _ in prims], dtype=np.int64)
    seg2d = cls_of[inst2d]
    points2d = origin + depth2d[..., None] * dirs2d
    # planes: constant normals; objects: analytic, inside their window
    plane_n = np.array([pr.n if isinstance(pr, _Plane) else (0., 0., 0.)
                        for _, pr in prims])
    normals2d = plane_n[inst2d]
    for k, win in windows:
        m = inst2d[win] == k
        if m.any():
            normals2d[win][m] = prims[k][1].normal(points2d[win][m],
                                                   dirs2d[win][m])
    points, normals = points2d.reshape(-1, 3), normals2d.reshape(-1, 3)

    # ---- shading: Lambert + ambient, directional light, cast shadows ----
    elev = np.deg2rad(rng.uniform(*p['light_elevation']))
    azim = yaw + np.deg2rad(rng.uniform(*p['light_azimuth']))
    light = np.array([np.sin(azim) * np.cos(elev), np.sin(elev),
                      -np.cos(azim) * np.cos(elev)])
    ambient = rng.uniform(*p['ambient'])
    lambert = np.clip(normals @ light, 0.0, None)
    if p['shadows']:
        start = points + 1e-4 * normals
        # light-aligned frame (e1, e2, light): a shadow ray can only hit an
        # object whose bounding sphere is within radius of the ray's line
        e1 = np.cross(light, (1.0, 0.0, 0.0))
        e1 /= np.linalg.norm(e1)
        frame = np.stack([e1, np.cross(light, e1), light], 1)
        loc = (start @ frame[:, 0], start @ frame[:, 1], start @ light)
        active = lambert > 0  # lit so far
        for k, _ in windows:
            prim = prims[k][1]
            cand = _shadow_candidates(loc, active, frame, *prim.bound)
            if len(cand):
                hit = np.isfinite(prim.intersect(start[cand], light))
                active[cand[hit]] = False
        lambert[~active] = 0.0
    shade = ambient + (1.0 - ambient) * lambert

    # ---- albedo: overlapping per-class colours + 3D procedural texture ----
    n_inst = len(prims)
    grand = _ALBEDO_MEAN.mean(0)
    means = grand + p['albedo_contrast'] * (_ALBEDO_MEAN - grand)
    albedo = np.clip(means[cls_of] + rng.normal(
        0.0, p['color_spread'], (n_inst, 3)), 0.05, 0.95)
    kind, amp, waves, phase = _texture(rng, n_inst, p)
    # phase of the 3 waves of every instance at every point, then pick
    # the pixel's own instance
    waves_px = waves.astype(np.float32)[inst]  # (N, 3 waves, xyz)
    pts32 = points.astype(np.float32)
    arg = phase.astype(np.float32)[inst]
    for c in range(3):
        arg += waves_px[:, :, c] * pts32[:, c, None]
    s = np.sin(arg)
    kind_px = kind[inst]
    pattern = np.where(
        kind_px == 1, s[:, 0],
        np.where(kind_px == 2, np.sign(s[:, 0] * s[:, 1]),
                 np.where(kind_px == 3, s.sum(-1) * float(1 / np.sqrt(3.0)),
                          0.0)))
    tint = np.clip(1.0 + rng.normal(0.0, 0.06, 3), 0.8, 1.2)
    gain = rng.uniform(*p['exposure'])
    grey = (gain * shade).astype(np.float32) * (
        1.0 + amp[inst].astype(np.float32) * pattern)
    img = (albedo * tint).astype(np.float32)[inst] * grey[:, None]
    img = _blur(img.reshape(h, w, 3), p['blur'])
    if p['noise_std'] > 0:
        img += p['noise_std'] * rng.standard_normal(img.shape,
                                                    dtype=np.float32)
    img = np.clip(img, 0.0, 1.0)

    # ---- edges: class change, or depth jump at an object's silhouette ----
    # Room planes only meet along creases (continuous depth), and objects
    # are convex: a depth discontinuity is a change of instance that
    # involves an object, with a relative jump above the threshold.
    is_obj = np.array([not isinstance(pr, _Plane) for _, pr in prims])
    obj2d = is_obj[inst2d]
    edge = np.zeros((h, w), dtype=bool)
    thr = p['edge_depth_thresh']
    for sl_a, sl_b in (((slice(None), slice(None, -1)),
                        (slice(None), slice(1, None))),
                       ((slice(None, -1), slice(None)),
                        (slice(1, None), slice(None)))):
        za, zb = depth2d[sl_a], depth2d[sl_b]
        jump = (seg2d[sl_a] != seg2d[sl_b]) | (
            (inst2d[sl_a] != inst2d[sl_b]) & (obj2d[sl_a] | obj2d[sl_b])
            & (np.abs(za - zb) > thr * np.minimum(za, zb)))
        edge[sl_a] |= jump
        edge[sl_b] |= jump

    # ---- outputs in the camera frame; Kinect-like holes ----
    normal_cam = (normals @ cam_to_world).reshape(h, w, 3)
    normal_out = normal_cam * np.array([1.0, -1.0, -1.0])
    depth_out = depth2d.copy()
    num_holes = int(rng.integers(p['num_holes'][0], p['num_holes'][1] + 1))
    if num_holes:
        centre = rng.uniform((0, 0), (h, w), (num_holes, 2))
        radius = rng.uniform(*p['hole_radius'], num_holes)
        rows = np.arange(h)[:, None] + 0.5
        cols = np.arange(w)[None, :] + 0.5
        hole = ((rows[None] - centre[:, 0, None, None])**2 +
                (cols[None] - centre[:, 1, None, None])**2 <=
                radius[:, None, None]**2).any(0)
        depth_out[hole] = 0.0
        normal_out[hole] = 0.0

    return dict(
        img=img.astype(np.float32, copy=False),
        semseg=seg2d,
        depth=depth_out.astype(np.float32),
        normal=normal_out.astype(np.float32),
        edge=edge.astype(np.uint8),
        saliency=(seg2d >= _CLS['sphere']).astype(np.uint8))
