"""Functions that run on Spark executors. They close over nothing heavy: no session, client or settings."""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator

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


CLASS_INDEX = {"glioma": 0, "meningioma": 1, "notumor": 2, "pituitary": 3}
FAULT_KILL_WORKER_ONCE = "MRI_FAULT_KILL_PYTHON_WORKER_ONCE"  # fault injection for tests: a flag file path


def maybe_die_once() -> None:
    """Fault injection: when the variable names a flag file that does not exist yet, create it and die by SIGKILL.

    Exactly one Python worker dies, mid-task, the way an out-of-memory kill takes it: Spark must retry the task.
    """
    flag = os.environ.get(FAULT_KILL_WORKER_ONCE)
    if not flag:
        return
    try:
        os.close(os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def prepare_partition(rows, size: int, channels: int):
    """RDD mapPartitions: Row(path, split, class, sha256, content) -> prepared tuples."""
    from engine.data.pixels import prepare_or_error

    maybe_die_once()
    for row in rows:
        pixels, error = prepare_or_error(row["content"], size, channels)
        yield (row["path"], row["split"], row["class"], CLASS_INDEX.get(row["class"], -1), row["sha256"], pixels, error)


def prepare_arrow(size: int, channels: int):
    """A mapInArrow function (closure over two ints only) preparing each image of a record batch."""

    def run(batches):
        import pyarrow as pa

        from engine.data.pixels import prepare_or_error

        maybe_die_once()
        for batch in batches:
            cols = batch.to_pydict()
            pixels, errors = [], []
            for content in cols["content"]:
                p, e = prepare_or_error(content, size, channels)
                pixels.append(p)
                errors.append(e)
            yield pa.RecordBatch.from_pydict(prepared_columns(cols, pixels, errors))

    return run


def prepared_columns(cols: dict, pixels: list, errors: list) -> dict:
    """The columns of prepared Parquet: the manifest's identity columns, the label, the pixels or the error."""
    import pyarrow as pa

    return {
        "path": cols["path"],
        "split": cols["split"],
        "class": cols["class"],
        "label": pa.array([CLASS_INDEX.get(c, -1) for c in cols["class"]], pa.int32()),
        "sha256": cols["sha256"],
        "pixels": pa.array(pixels, pa.binary()),
        "error": pa.array(errors, pa.string()),
    }
