"""How bright a scan's head is, against the model's training scans.

A screenshot taken with a darker window or gamma than the export keeps its anatomy and loses the brightness the
model learnt with it. Shown at gamma 1.5, 41 of 73 unseen glioma scans were read as "no tumour", and 36 of 288
unseen scans got a wrong answer with no flag (docs/model.md). The darkest 2% of the model's training scans mark
where it stops having seen many real scans; a head darker than that is answered with a review flag
(engine.clinic.gate).
"""

from __future__ import annotations

import numpy as np

from engine.data.framing import content_mask

DARK_QUANTILE = 0.02  # the share of the model's training scans darker than its flag line


def content_brightness(scan: np.ndarray) -> float | None:
    """The mean brightness of the central half of a prepared uint8 scan (h, w[, channels]), as a share of its bright
    end (99.5th percentile); None for an all-dark one. The centre is the brain in every framing the clinic
    answers, and a mean over fixed pixels falls with every darker gamma (a median over "content" pixels does not:
    dim tissue drops out of the content as it darkens)."""
    grey = (scan.mean(axis=-1) if scan.ndim == 3 else scan).astype(np.float32)
    if not content_mask(grey).any():
        return None
    h, w = grey.shape
    centre = grey[h // 4 : h - h // 4, w // 4 : w - w // 4]
    return float(centre.mean() / max(float(np.percentile(grey, 99.5)), 1.0))


def brightness_of(x: np.ndarray) -> np.ndarray:
    """``content_brightness`` of each prepared scan in ``x`` (n, h, w[, channels]); NaN for an all-dark one."""
    return np.array([np.nan if (b := content_brightness(scan)) is None else b for scan in x], dtype=np.float64)


def fit_dark_below(brightness_train: np.ndarray) -> float:
    """The flag line: the DARK_QUANTILE quantile of the training scans' brightness (all-dark ones left out)."""
    return float(np.nanquantile(brightness_train, DARK_QUANTILE))
