# Copyright (c) mtlpartial contributors. All rights reserved.
"""Multi-task performance relative to a baseline (Δ_m, Maninis et al.)."""
import math
from typing import Mapping


def delta_percent(results: Mapping[str, float], baseline: Mapping[str, float],
                  higher_is_better: Mapping[str, bool]) -> float:
    """Δ_m in percent: the mean over metrics of the signed relative change.

    ``Δ_m = 100 / |M| · Σ_{m in M} (-1)^{l_m} (R_m - B_m) / B_m`` where
    ``M`` are the keys of ``baseline`` and ``l_m = 1`` when lower is better
    (so an improvement is always positive). Maninis et al. 2019 /
    Vandenhende et al. 2021; MTPSL multiplies by 100 as here, JTR's
    ``deltas.py`` returns the fraction.

    Args:
        results: ``{metric: value}``; must contain every baseline key.
        baseline: ``{metric: value}`` of the reference model.
        higher_is_better: ``{metric: bool}`` for every baseline key.

    Returns:
        float: Δ_m in percent (NaN if a result is NaN).

    Raises:
        ValueError: if ``baseline`` is empty or a baseline value is zero or
            not finite.
        KeyError: naming the missing metric.

    Examples:
        >>> delta_percent({'a': 44.0, 'b': 0.45}, {'a': 40.0, 'b': 0.5},
        ...               {'a': True, 'b': False})
        10.0
    """
    if not baseline:
        raise ValueError('delta_percent: the baseline is empty')
    total = 0.0
    for key, base in baseline.items():
        if key not in results:
            raise KeyError(f'delta_percent: metric "{key}" of the baseline is '
                           f'missing from the results {sorted(results)}')
        if key not in higher_is_better:
            raise KeyError(f'delta_percent: no direction for metric "{key}" '
                           'in higher_is_better')
        base = float(base)
        if base == 0 or not math.isfinite(base):
            raise ValueError(f'delta_percent: baseline of "{key}" must be '
                             f'finite and non-zero, got {base}')
        sign = 1.0 if higher_is_better[key] else -1.0
        total += sign * (float(results[key]) - base) / base
    return total / len(baseline) * 100
