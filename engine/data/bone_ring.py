"""Whether a prepared scan shows a skull as CT shows it: a white band of bone with tissue right inside it.

Physics, not learning. In CT, bone is the densest thing in the head, so at every brain or soft-tissue window the
skull is a band of saturated white around a grey brain. In MRI the skull's compact bone gives no signal: it is a
dark band, and what is bright at the head's edge is scalp fat, with that dark bone just inside it. The brain-MRI
check (:mod:`engine.ml.mri_check`) reads the tumour model's features, which never learnt CT from MRI: a head CT
at a wide soft-tissue window (a flat grey brain in a white skull) was answered "glioma" (docs/model.md). This test
reads the pixels instead.

From the head's centre, rays go out to its edge; a ray crosses a *bone band* when, within the outer quarter of the
head's radius, at least 1.5% of the radius is saturated and the 6% of the radius just inside the band's inner end
never turns dark. The score is the share of rays that do: real brain MRI rarely pass half their rays (those that
do are small heads in a thick, saturated fat ring, whose dark bone a 128 px scan blurs away), head CT at a brain or
soft-tissue window most of them.
"""

from __future__ import annotations

import numpy as np

RAYS = 72
STEP = 0.5  # pixels between samples along a ray
SATURATED = 240  # of 255, on a prepared (percentile-stretched) scan: bone clipped white by the window
OUTER = 0.25  # the band is looked for in this outer share of the head's radius
BAND = 0.015  # at least this share of the radius saturated along the ray
INSIDE = 0.06  # the tissue inside the band, as a share of the radius
DARK = 50  # a sample this dark inside the band is MRI's signal-free bone (or CSF), not CT's brain
HEAD_ABOVE = 25  # what is brighter than this is the head (or its scalp); darker is background
# Two tiers, as for the feature distance (engine.clinic.gate): a scan whose rays cross a bone band this often is
# answered with a review flag, and refused as CT beyond the second. Measured on the public dataset through the
# clinic's own reading (docs/model.md): of its real brain MRI, 16 of 5,660 reach the first (0.28%, small heads in a
# thick fat ring) and none the second (the highest 0.75); of its head CT slices, 47 of 48 the first, 43 the second.
REVIEW_ABOVE = 0.55
REFUSE_ABOVE = 0.80


def head_mask(grey: np.ndarray) -> np.ndarray | None:
    """The largest bright component of a grey scan, its holes filled; None when it covers under 1% of the frame."""
    from scipy import ndimage

    bright = ndimage.binary_opening(grey > HEAD_ABOVE)
    labels, n = ndimage.label(bright)
    if n == 0:
        return None
    largest = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    if largest.sum() < grey.size / 100:
        return None
    return ndimage.binary_fill_holes(largest)


def bone_ring_share(scan: np.ndarray) -> float | None:
    """The share of rays from the head's centre that cross a CT-like bone band, for a prepared uint8 scan
    (h, w[, channels]); None when no head is found."""
    from scipy import ndimage

    grey = (scan.mean(axis=-1) if scan.ndim == 3 else scan).astype(np.float32)
    head = head_mask(grey)
    if head is None:
        return None
    cy, cx = ndimage.center_of_mass(head)
    radius = float(np.sqrt(head.sum() / np.pi))
    angles = np.linspace(0, 2 * np.pi, RAYS, endpoint=False)
    along = np.arange(0, max(grey.shape), STEP)
    ys, xs = cy + np.outer(np.sin(angles), along), cx + np.outer(np.cos(angles), along)
    on_head = ndimage.map_coordinates(head.astype(np.float32), [ys, xs], order=0, cval=0.0) > 0.5
    depth, band, inside = (max(int(round(share * radius / STEP)), 1) for share in (OUTER, BAND, INSIDE))
    seen = on_head.any(axis=1)
    edge = on_head.shape[1] - 1 - np.argmax(on_head[:, ::-1], axis=1)  # the last sample on the head, per ray
    idx = edge[:, None] - np.arange(depth + inside)[None, :]  # from the edge inward
    valid = idx >= 0
    idx = np.clip(idx, 0, None)
    rows = np.arange(RAYS)[:, None]
    profile = ndimage.map_coordinates(grey, [ys[rows, idx], xs[rows, idx]], order=1)
    saturated = (profile[:, :depth] >= SATURATED) & valid[:, :depth]
    end = depth - np.argmax(saturated[:, ::-1], axis=1)  # one past the innermost saturated sample
    after = np.arange(depth + inside)[None, :] - end[:, None]
    tissue = (after >= 0) & (after < inside) & valid
    dark = ((profile < DARK) & tissue).any(axis=1)
    enough = tissue.sum(axis=1) >= inside // 2
    crossed = seen & (saturated.sum(axis=1) >= max(band, 2)) & enough & ~dark
    return float(crossed.sum()) / RAYS


def bone_ring_of(x: np.ndarray) -> np.ndarray:
    """``bone_ring_share`` of each prepared scan in ``x`` (n, h, w[, channels]); NaN where no head is found."""
    return np.array([np.nan if (s := bone_ring_share(scan)) is None else s for scan in x], dtype=np.float64)
