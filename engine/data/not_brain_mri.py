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
    """Prepared images of listed files as negatives of the brain-MRI check (one source each)."""
    from PIL import Image

    from engine.data.negatives import Negative

    return [Negative(f"{SOURCE_PREFIX}{i}", GROUP, Image.fromarray(img.mean(axis=-1).astype(np.uint8))) for i, img in enumerate(x)]
