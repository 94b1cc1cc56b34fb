"""A second, model-independent look at whether an input is laid out like a brain MRI slice: a dark frame
around a bright, roughly symmetric head, with MRI's contrast and edge density. Seven image statistics, a
Gaussian fitted on real scans, a threshold on held-out ones.

It backs the feature distance where that one is unsure (engine.clinic.gate): an image the model finds unusual
AND whose layout is unlike any real scan's (a grey photograph, a page of text) is refused, while an unusual
real scan, laid out like the others, is answered and flagged for review.
"""

from __future__ import annotations

import numpy as np

LAYOUT_QUANTILE = 0.999
NAMES = ("dark frame", "dark share", "centre brightness", "contrast", "edge density", "bright share", "left-right symmetry")


def layout_stats(x: np.ndarray) -> np.ndarray:
    """[n, 7] statistics of prepared uint8 images [n, h, w, c] (the model's own input)."""
    g = x.mean(axis=-1).astype(np.float32) / 255.0 if x.ndim == 4 else x.astype(np.float32) / 255.0
    _, h, w = g.shape
    m = h // 8
    frame = np.ones((h, w), dtype=bool)
    frame[m:-m, m:-m] = False
    centre = np.zeros((h, w), dtype=bool)
    centre[h // 4 : -(h // 4), w // 4 : -(w // 4)] = True
    dark = g < 0.1
    gy, gx = np.gradient(g, axis=(1, 2))
    mirrored = g[:, :, ::-1]
    centred, centred_m = g - g.mean(axis=(1, 2), keepdims=True), mirrored - mirrored.mean(axis=(1, 2), keepdims=True)
    symmetry = (centred * centred_m).mean(axis=(1, 2)) / (g.var(axis=(1, 2)) + 1e-6)
    return np.stack(
        [dark[:, frame].mean(1), dark.mean((1, 2)), g[:, centre].mean(1), g.std((1, 2)), np.hypot(gx, gy).mean((1, 2)), (g > 0.8).mean((1, 2)), symmetry],
        axis=1,
    )


def fit_layout(stats_train: np.ndarray, stats_heldout: np.ndarray, quantile: float = LAYOUT_QUANTILE) -> dict:
    mean = stats_train.mean(axis=0)
    cov = np.cov(stats_train - mean, rowvar=False)
    cov = 0.9 * cov + 0.1 * np.trace(cov) / len(cov) * np.eye(len(cov))
    fitted = {"mean": mean.tolist(), "precision": np.linalg.inv(cov).tolist()}
    fitted["threshold"] = float(np.quantile(layout_distance(stats_heldout, fitted), quantile))
    fitted["quantile"] = quantile
    return fitted


def layout_distance(stats: np.ndarray, fitted: dict) -> np.ndarray:
    d = stats - np.asarray(fitted["mean"])
    return np.sqrt(np.maximum(np.einsum("nd,de,ne->n", d, np.asarray(fitted["precision"]), d), 0))
