"""Images inside a training dataset that are not brain MRI. The public dataset's "no tumour" class holds axial head
CT slices (43 files, 22 distinct images: ``assets/data/not-brain-mri.json``, found and confirmed as docs/model.md
says). Left among the positives they teach the brain-MRI check that a head CT is a brain MRI; listed, the check
learns them as CT instead, and the refusal figures count them apart from the real scans.

Listed by the SHA-256 of the file, so a copy of the dataset ingested under any name is recognised.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np

LIST_FILE = Path(__file__).resolve().parents[2] / "assets" / "data" / "not-brain-mri.json"
GROUP = "ct"  # engine.data.negatives.GROUPS: leaving CT out of the check leaves these out too
DATASET_VARIANTS = 4  # random views of each listed image the check learns from (the library's sources get 12)
SOURCE_PREFIX = "dataset-not-mri-"  # the negative source of each listed image: dataset-not-mri-0, -1, ...


@functools.cache
def listed_digests() -> frozenset[str]:
    return frozenset(f["sha256"] for f in json.loads(LIST_FILE.read_text())["files"])


def list_digest() -> str:
    """Changes when the list does: cached fold rows fitted with another list are recomputed."""
    return hashlib.sha256("\n".join(sorted(listed_digests())).encode()).hexdigest()[:12]


def not_brain_mri(manifest, paths: list[str]) -> np.ndarray:
    """For each dataset path, whether its file is listed as not a brain MRI."""
    by_path = dict(zip(manifest["path"], manifest["sha256"]))
    digests = listed_digests()
    return np.array([by_path.get(p) in digests for p in paths], dtype=bool)


def as_negatives(x: np.ndarray) -> list:
    """Prepared images of listed files as negatives of the brain-MRI check (one source each), each also as a wide
    window shows it (:func:`widened`)."""
    from PIL import Image

    from engine.data.negatives import Negative

    out = []
    for i, img in enumerate(x):
        grey = Image.fromarray(img.mean(axis=-1).astype(np.uint8))
        out.append(Negative(f"{SOURCE_PREFIX}{i}", GROUP, grey, (widened(grey),)))
    return out


# The listed slices are shown at a brain window (about level 40, width 80: grey matter to white, bone saturated).
# A head CT screenshot often arrives at a wide soft-tissue window instead (level 40, width 400), where the brain is
# a flat mid grey inside a white skull; until 2026-12-04 midday the check had never seen one, and answered an unseen head
# CT at such a window "glioma" (docs/model.md).
BRAIN_WINDOW = (40.0, 80.0)
WIDE_WINDOW = (40.0, 400.0)
BONE_GREY = 0.8  # near white at the brain window: bone (the JPEG's noise speckles its edge below saturation)
BONE_HU = 400.0


def widened(img):
    """A brain-window head CT slice re-windowed as a wide soft-tissue window shows it: the grey range mapped back to
    Hounsfield units, bone set to bone, the wide window applied inside the head and black outside it."""
    from PIL import Image
    from scipy import ndimage

    from engine.data.negatives import windowed

    g = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    head = ndimage.binary_fill_holes(ndimage.binary_opening(g > 0.08, iterations=2))
    labels, count = ndimage.label(head)
    if count:
        head = labels == (np.argmax(ndimage.sum(head, labels, range(1, count + 1))) + 1)
    level, width = BRAIN_WINDOW
    hu = level - width / 2 + g * width
    hu[g > BONE_GREY] = BONE_HU
    return Image.fromarray(windowed(hu, *WIDE_WINDOW) * head)
