"""Amdahl's law fitted to measured speed-ups: S(k) = 1 / (s + (1 - s) / k), s the serial fraction."""

from __future__ import annotations

import numpy as np


def speedup(serial_fraction: float, workers: np.ndarray | float) -> np.ndarray:
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / np.asarray(workers, dtype=float))


def fit_amdahl(times_by_workers: dict[int, list[float]], project_to: int = 16, draws: int = 2000, seed: int = 0) -> dict:
    """Fit the serial fraction to run times measured at several worker counts.

    The uncertainty comes from resampling the repeats (bootstrap): each draw picks one time per
    worker count, refits, and the 2.5-97.5 percentiles of the fitted fractions are reported.

    Args:
        times_by_workers: {workers: [seconds of each repeat]}; needs worker count 1 and at least one other.
    Returns:
        {"serial_fraction", "serial_fraction_ci95", "max_speedup", "projection": [{"workers", "speedup"}], "model"}
    """
    ks = sorted(times_by_workers)
    if 1 not in times_by_workers or len(ks) < 2:
        return {"serial_fraction": None, "note": "needs measurements at 1 worker and at least one more worker count"}

    def fit(times: dict[int, float]) -> float:
        # least squares on 1/S(k) = s + (1 - s)/k, which is linear in s: y_k - 1/k = s (1 - 1/k)
        t1 = times[1]
        xs = np.array([1 - 1 / k for k in ks if k != 1])
        ys = np.array([times[k] / t1 - 1 / k for k in ks if k != 1])
        return float(np.clip((xs @ ys) / (xs @ xs), 0.0, 1.0))

    point = fit({k: float(np.median(v)) for k, v in times_by_workers.items()})
    rng = np.random.default_rng(seed)
    boot = [fit({k: float(rng.choice(v)) for k, v in times_by_workers.items()}) for _ in range(draws)]
    lo, hi = np.percentile(boot, [2.5, 97.5])
    projection = [{"workers": k, "speedup": float(speedup(point, k))} for k in range(1, project_to + 1)]
    return {
        "serial_fraction": point,
        "serial_fraction_ci95": [float(lo), float(hi)],
        "max_speedup": float(1 / point) if point > 0 else None,
        "projection": projection,
        "model": "Amdahl's law fitted to the measured medians; a projection, not a measurement",
    }
