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

The parameters, classes and camera live in :mod:`.scene_params`, the
ray-cast primitives in :mod:`.primitives`. See ``docs/synthetic.md`` for
the parameters and the measured sanity checks.
"""
import functools
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .primitives import (CUBE, INF, Box, Cylinder, Panel, Plane, Sphere,
                         rot_x, rot_y, rot_z)
from .scene_params import (ALBEDO_MEAN, CLASS_ID, SCENE_DEFAULTS,
                           SYNTHETIC_CLASSES, SYNTHETIC_OBJECT_CLASSES,
                           camera_intrinsics, check_params, make_rng)

__all__ = [
    'SYNTHETIC_CLASSES', 'SYNTHETIC_OBJECT_CLASSES', 'SCENE_DEFAULTS',
    'render_scene', 'camera_intrinsics'
]


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
            half = rng.uniform((0.3, 0.25), (0.7, 0.6)) * p['panel_scale']
            rot = rot_y(rng.uniform(-1.0, 1.0)) @ rot_x(
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
            prim = Sphere((x, r + lift, z), r)
        elif name == 'box':
            prim = Box((x, half[1], z), half, box_yaw)
        elif name == 'cylinder':
            prim = Cylinder((x, 0.0, z), r, hgt)
        else:
            prim = Panel((x, height, z), rot, half)
        objects.append((CLASS_ID[name], prim))
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
    objs = [k for k, pr in enumerate(prims) if not isinstance(pr, Plane)]
    windows: List[Optional[Tuple[slice, slice]]] = [full] * len(prims)
    if not objs:
        return windows
    centre = np.array([prims[k].bound[0] for k in objs])
    radius = np.array([prims[k].bound[1] for k in objs])
    corners = centre[:, None] + radius[:, None, None] * CUBE  # (K, 8, 3)
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
    p = check_params(height, width, num_objects, noise_std, blur, kwargs)
    rng = make_rng(seed, split, index)
    h, w = int(height), int(width)

    # ---- camera: world frame x right, y up, z forward; floor y = 0 ----
    cam_h = rng.uniform(*p['camera_height'])
    pitch, yaw, roll = (np.deg2rad(rng.uniform(*p[k])) for k in (
        'camera_pitch', 'camera_yaw', 'camera_roll'))
    # OpenCV camera (x right, y down, z forward) -> world
    cam_to_world = (rot_y(yaw) @ rot_x(pitch) @ rot_z(-roll)
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
    prims = [(CLASS_ID['floor'], Plane((0, 0, 0), (0, 1, 0))),
             (CLASS_ID['wall'], Plane((0, 0, wall_z), (0, 0, -1)))]
    x_lim = [-1e3, 1e3]
    for side in (-1.0, 1.0):
        dist = rng.uniform(*p['side_wall_distance'])
        if rng.random() < p['side_wall_prob']:
            prims.append((CLASS_ID['wall'], Plane((side * dist, 0, 0),
                                                  (-side, 0, 0))))
            x_lim[int(side > 0)] = side * dist
    prims += _sample_objects(rng, p, yaw, wall_z, tuple(x_lim))

    # ---- primary rays: z-buffer over primitives ----
    depth2d = np.full((h, w), INF)
    inst2d = np.zeros((h, w), dtype=np.int64)
    dirs2d = dirs.reshape(h, w, 3)
    all_windows = _screen_windows([pr for _, pr in prims], origin,
                                  cam_to_world, (fx, fy, cx, cy), h, w)
    windows = []  # (index, window) of the visible objects
    for k, ((_, prim), win) in enumerate(zip(prims, all_windows)):
        if win is None:
            continue
        if not isinstance(prim, Plane):
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
    plane_n = np.array([pr.n if isinstance(pr, Plane) else (0., 0., 0.)
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
    grand = ALBEDO_MEAN.mean(0)
    means = grand + p['albedo_contrast'] * (ALBEDO_MEAN - grand)
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
    is_obj = np.array([not isinstance(pr, Plane) for _, pr in prims])
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
        saliency=(seg2d >= CLASS_ID['sphere']).astype(np.uint8))
