# Copyright (c) mtlpartial contributors. All rights reserved.
"""Small exact solvers on a K×K Gramian (float64, CPU; no cvxpy).

* :func:`min_norm_weights` — MGDA: ``argmin_{w ∈ Δ} wᵀ G w``, exactly, as a
  non-negative least squares problem (Lawson–Hanson active set).
* :func:`dual_cone_weights` — UPGrad/DualProj projection:
  ``argmin_{v ≥ u} vᵀ G v``, also via NNLS.
* :func:`cagrad_weights` — CAGrad's dual
  ``argmin_{w ∈ Δ} wᵀ G 1/K + c ‖g₀‖ √(wᵀ G w)`` (SLSQP, then Newton
  polishing on the support to machine precision).
* :func:`nash_weights` — Nash-MTL's bargaining solution ``G α = 1/α``,
  ``α > 0``, as the minimiser of the strictly convex
  ``½ αᵀ G α − Σ log α_i`` (damped Newton, on the unit-diagonal
  rescaling of ``G``, so that tasks of any gradient norm are exact).
"""
from typing import Optional, Tuple

import numpy as np
import torch
from scipy.optimize import minimize, nnls
from torch import Tensor


def psd_sqrt(gram: np.ndarray) -> np.ndarray:
    """``A`` with ``Aᵀ A = gram`` (symmetric PSD, negative noise clipped)."""
    lam, vec = np.linalg.eigh(0.5 * (gram + gram.T))
    lam = np.clip(lam, 0.0, None)
    return np.sqrt(lam)[:, None] * vec.T


def _normalized(gram: Tensor) -> Tuple[np.ndarray, float]:
    g = gram.detach().to('cpu', torch.float64).numpy()
    g = 0.5 * (g + g.T)
    scale = float(np.trace(g)) / g.shape[0]
    if not np.isfinite(scale) or scale <= 0:
        return g, 0.0
    return g / scale, scale


def min_norm_weights(gram: Tensor) -> Tensor:
    """Exact min-norm point of the convex hull of the gradients.

    Solves ``min_{w ≥ 0, Σw = 1} wᵀ G w``. With ``λ* = argmin_{λ ≥ 0}
    ‖Aλ‖² + (1ᵀλ − 1)²`` (``AᵀA = G``), ``w = λ*/Σλ*`` satisfies the KKT
    conditions of the simplex QP (``Gw ≥ (wᵀGw) 1`` with equality on the
    support), so the NNLS solution is the exact MGDA solution.
    """
    k = gram.shape[0]
    if k == 1:
        return torch.ones(1, dtype=torch.float64)
    g, scale = _normalized(gram)
    if scale == 0.0:
        return torch.full((k, ), 1.0 / k, dtype=torch.float64)
    a = np.vstack([psd_sqrt(g), np.ones((1, k))])
    b = np.zeros(k + 1)
    b[-1] = 1.0
    lam, _ = nnls(a, b, maxiter=50 * (k + 1))
    total = lam.sum()
    if not total > 0:
        raise RuntimeError('MGDA min-norm solve failed (NNLS returned 0)')
    return torch.from_numpy(lam / total)


def dual_cone_weights(gram: Tensor, u: Tensor) -> Tensor:
    """Weights ``v`` of the projection of ``Jᵀu`` onto the dual cone of the
    rows of ``J`` (``G = J Jᵀ``): ``argmin_{v ≥ u} vᵀ G v``.

    ``v = u + s`` with ``s = argmin_{s ≥ 0} ‖A s + A u‖²`` (NNLS).

    Args:
        gram (Tensor): ``[K, K]`` positive definite Gramian.
        u (Tensor): ``[..., K]`` vectors to project.
    """
    g = gram.detach().to('cpu', torch.float64).numpy()
    a = psd_sqrt(g)
    u_np = u.detach().to('cpu', torch.float64).numpy()
    flat = u_np.reshape(-1, g.shape[0])
    out = np.empty_like(flat)
    for r, row in enumerate(flat):
        s, _ = nnls(a, -a @ row, maxiter=50 * (g.shape[0] + 1))
        out[r] = row + s
    return torch.from_numpy(out.reshape(u_np.shape))


def _cagrad_objective(g: np.ndarray, c: float):
    k = g.shape[0]
    b = g @ np.full(k, 1.0 / k)
    g0_norm = float(np.sqrt(max(b.mean(), 0.0)))
    r = c * g0_norm

    def fun(w):
        q = float(w @ g @ w)
        return float(b @ w) + r * np.sqrt(max(q, 0.0))

    def jac(w):
        gw = g @ w
        q = float(w @ gw)
        if q <= 0:
            return b.copy()
        return b + r * gw / np.sqrt(q)

    return fun, jac, b, r


def cagrad_weights(gram: Tensor, c: float) -> Tuple[Tensor, float]:
    """Solve CAGrad's dual over the simplex.

    Returns ``w`` (``[K]``) and ``r = c ‖g₀‖`` (in the original scale).
    The objective is homogeneous of degree one in ``G``, so the solve runs
    on the trace-normalised Gramian.
    """
    k = gram.shape[0]
    g, scale = _normalized(gram)
    if k == 1 or scale == 0.0:
        w = torch.ones(k, dtype=torch.float64) / k
        return w, c * float(np.sqrt(max(scale, 0.0) * g.mean()))
    fun, jac, b, r = _cagrad_objective(g, c)
    x0 = np.full(k, 1.0 / k)
    res = minimize(
        fun,
        x0,
        jac=jac,
        method='SLSQP',
        bounds=[(0.0, 1.0)] * k,
        constraints=({
            'type': 'eq',
            'fun': lambda x: 1.0 - x.sum(),
            'jac': lambda x: -np.ones_like(x)
        }, ),
        options=dict(ftol=1e-14, maxiter=500))
    w = np.clip(res.x, 0.0, None)
    w = w / w.sum()
    w = _polish_simplex(w, g, b, r, fun)
    return torch.from_numpy(w), r * float(np.sqrt(scale))


def _polish_simplex(w: np.ndarray, g: np.ndarray, b: np.ndarray, r: float,
                    fun) -> np.ndarray:
    """Newton iterations on the KKT system restricted to the support."""
    support = w > 1e-9
    best, best_f = w, fun(w)
    x = w.copy()
    for _ in range(20):
        s = np.flatnonzero(support)
        gs = g[np.ix_(s, s)]
        xs = x[s]
        gx = gs @ xs
        q = float(xs @ gx)
        if q <= 1e-300:
            break
        sq = np.sqrt(q)
        grad = b[s] + r * gx / sq
        hess = r * (gs / sq - np.outer(gx, gx) / (q * sq))
        n = len(s)
        kkt = np.zeros((n + 1, n + 1))
        kkt[:n, :n] = hess
        kkt[:n, n] = 1.0
        kkt[n, :n] = 1.0
        rhs = np.concatenate([-grad, [1.0 - xs.sum()]])
        sol = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
        step = sol[:n]
        new = x.copy()
        new[s] = xs + step
        if (new < 0).any():
            break
        x = new
        if fun(x) <= best_f + 1e-15 * max(1.0, abs(best_f)):
            best, best_f = x.copy(), fun(x)
        if np.abs(step).max() < 1e-15:
            break
    return best


def nash_weights(gram: Tensor,
                 alpha0: Optional[Tensor] = None,
                 max_iter: int = 100,
                 tol: float = 1e-12) -> Tensor:
    """Nash-MTL bargaining weights: ``α > 0`` with ``G α = 1/α``.

    ``α`` minimises ``F(α) = ½ αᵀGα − Σ log α_i`` (strictly convex,
    ``∇F = Gα − 1/α``), solved by damped Newton from ``alpha0`` (warm
    start, rescaled optimally). Rows with a zero gradient get weight 0 (no
    bargaining solution involves them).

    The solve runs on the unit-diagonal ``C = D G D`` with
    ``D = diag(1/‖g_i‖)``: if ``C β = 1/β`` then ``α = D β`` solves the
    original system, so the solution does not depend on the tasks'
    gradient norms. The ridge ``1e-10·I`` added to ``C`` (it keeps ``F``
    bounded below when gradients are exactly opposed) is thus ``1e-10``
    of *each* task's squared norm. A ridge relative to the mean norm (the
    previous version) swamped tasks whose gradient is ≤ 1e-4 of the
    largest: for gradients ``diag(1, 1e-5)`` the update was
    ``[1, 0.8165]`` instead of ``[1, 1]``.
    """
    k = gram.shape[0]
    g_full, scale = _normalized(gram)
    out = np.zeros(k)
    if scale == 0.0:
        return torch.from_numpy(out)
    diag = np.diag(g_full)
    keep = np.flatnonzero(diag > 1e-20)
    inv_norm = 1.0 / np.sqrt(diag[keep])
    g = g_full[np.ix_(keep, keep)] * np.outer(inv_norm, inv_norm)
    g = g + 1e-10 * np.eye(len(keep))
    a = np.ones(len(keep))
    if alpha0 is not None:
        prev = alpha0.detach().to('cpu', torch.float64).numpy()[keep]
        if np.all(np.isfinite(prev)) and np.all(prev > 0):
            a = prev / inv_norm
    a = a * np.sqrt(len(keep) / float(a @ g @ a))

    def objective(x):
        return 0.5 * float(x @ g @ x) - float(np.log(x).sum())

    f = objective(a)
    for _ in range(max_iter):
        grad = g @ a - 1.0 / a
        if np.linalg.norm(grad * a) < tol:
            break
        hess = g + np.diag(1.0 / a**2)
        d = -np.linalg.solve(hess, grad)
        t = 1.0
        neg = d < 0
        if neg.any():
            t = min(1.0, 0.99 * float(np.min(-a[neg] / d[neg])))
        slope = float(grad @ d)
        while True:
            cand = a + t * d
            fc = objective(cand)
            if fc <= f + 1e-4 * t * slope or t < 1e-12:
                break
            t *= 0.5
        a, f = cand, fc
    out[keep] = a * inv_norm / np.sqrt(scale)
    return torch.from_numpy(out)
