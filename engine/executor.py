"""Functions that run on Spark executors. They close over nothing heavy: no session, client or settings."""

from __future__ import annotations

import io
from typing import Iterator

import numpy as np
import pandas as pd

HIST_BINS = 32


def intensity_histograms(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """mapInPandas: (class, content) rows -> one normalised grey-level histogram per image."""
    from PIL import Image  # imported on the executor

    for batch in batches:
        rows = []
        for cls, content in zip(batch["class"], batch["content"]):
            try:
                grey = np.asarray(Image.open(io.BytesIO(content)).convert("L"), dtype=np.uint8)
            except (OSError, ValueError):
                continue  # unreadable images are counted by ingest, not here
            hist, _ = np.histogram(grey, bins=HIST_BINS, range=(0, 256))
            rows.append({"class": cls, "hist": (hist / max(grey.size, 1)).tolist(), "mean": float(grey.mean())})
        yield pd.DataFrame(rows, columns=["class", "hist", "mean"])
