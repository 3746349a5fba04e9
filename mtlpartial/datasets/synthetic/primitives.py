# Copyright (c) mtlpartial contributors. All rights reserved.
"""Analytic ray casting of the scene primitives of
:func:`~.scene_renderer.render_scene`: planes, spheres, yaw-rotated boxes,
vertical cylinders and tilted panels. Each has ``intersect(o, d)`` (ray
parameter of the nearest hit, ``inf`` for none) and ``normal(p, d)``;
objects have a bounding sphere ``bound = (centre, radius)``."""

import numpy as np

EPS = 1e-6
INF = np.inf
CUBE = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1)
                 for z in (-1, 1)], dtype=np.float64)


def rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def first_positive(t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """Nearest root > eps of a pair ``t1 <= t2`` (nan = no root)."""
    t = np.where(t1 > EPS, t1, np.where(t2 > EPS, t2, INF))
    return np.where(np.isnan(t), INF, t)


class Plane:
    """Infinite plane through ``point`` seen from the side of ``normal``."""

    def __init__(self, point, normal) -> None:
        self.point = np.asarray(point, dtype=np.float64)
        self.n = np.asarray(normal, dtype=np.float64)

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        dn = d @ self.n
        with np.errstate(divide='ignore', invalid='ignore'):
            t = ((self.point - o) @ self.n) / dn
        return np.where((dn < -1e-12) & (t > EPS), t, INF)

    def normal(self, p: np.ndarray, d: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.n, p.shape)


class Sphere:

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
        return first_positive((-b - s) / a, (-b + s) / a)

    def normal(self, p: np.ndarray, d: np.ndarray) -> np.ndarray:
        return (p - self.c) / self.r


class Box:
    """Box resting on the floor, rotated by ``yaw`` about the vertical."""

    def __init__(self, center, half, yaw: float) -> None:
        self.c = np.asarray(center, dtype=np.float64)
        self.h = np.asarray(half, dtype=np.float64)
        self.rot = rot_y(yaw)  # local -> world
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
        t = np.where(tmin > EPS, tmin, tmax)
        return np.where((tmax >= tmin) & (t > EPS), t, INF)

    def normal(self, p: np.ndarray, d: np.ndarray) -> np.ndarray:
        pl = (p - self.c) @ self.rot
        axis = np.argmax(np.abs(pl) / self.h, axis=-1)
        nl = np.zeros_like(pl)
        rows = np.arange(len(pl))
        nl[rows, axis] = np.sign(pl[rows, axis])
        return nl @ self.rot.T


class Cylinder:
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
        t = np.fmin(first_positive(t1, t1), first_positive(t2, t2))
        with np.errstate(divide='ignore', invalid='ignore'):
            for cap in (0.0, self.hgt):
                tc = (cap - oy) / dy
                xc, zc = ox + tc * dx, oz + tc * dz
                ok = (xc * xc + zc * zc <= self.r * self.r) & (tc > EPS)
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


class Panel:
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
        return np.where(ok & (t > EPS), t, INF)

    def normal(self, p: np.ndarray, d: np.ndarray) -> np.ndarray:
        sign = -np.sign(d @ self.n)
        return sign[:, None] * self.n
