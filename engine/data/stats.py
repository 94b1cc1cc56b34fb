"""Dataset statistics computed with Spark from the manifest and the packed copy, cached in HDFS as JSON."""

from __future__ import annotations

import json
import logging
import time

from engine.classes import CLASSES
from engine.data import datasets
from engine.data.executor import HIST_BINS, intensity_histograms
from engine.errors import NotFoundError
from engine.hdfs.storage import Storage
from engine.progress import ProgressFn, no_progress
from engine.settings import Settings
from engine.spark.locality import task_locality
from engine.spark.session import hdfs_uri, spark_session

logger = logging.getLogger(__name__)

SIZE_BINS = [0, 4_000, 6_000, 8_000, 10_000, 15_000, 20_000, 30_000, 50_000, 100_000, 1_000_000, 10**12]  # bytes


def stats_path(name: str) -> str:
    return f"{datasets.dataset_dir(name)}/stats.json"


def compute_stats(settings: Settings, storage: Storage, name: str, on_progress: ProgressFn = no_progress) -> dict:
    """Class counts per split, image sizes, file sizes and grey-level histograms per class (Spark).

    The result is written to ``/mri/datasets/<name>/stats.json`` and returned.
    """
    import numpy as np
    from pyspark.sql import functions as F

    manifest = datasets.read_manifest(storage, name)  # raises NotFoundError early, before Spark starts
    t0 = time.monotonic()
    on_progress(0, 4, "starting Spark")
    with spark_session(settings, f"stats-{name}") as spark:
        with task_locality(spark, f"stats-{name}") as locality:
            m = spark.read.parquet(hdfs_uri(settings, datasets.manifest_path(name)))
            on_progress(1, 4, "counting classes and sizes")
            counts = {(r["split"], r["class"]): r["count"] for r in m.groupBy("split", "class").count().collect()}
            splits = sorted({s for s, _ in counts})
            dims = [(r["width"], r["height"], r["count"]) for r in m.groupBy("width", "height").count().collect()]
            sizes = m.select("class", "bytes").toPandas()
            modes = {r["mode"]: r["count"] for r in m.groupBy("mode").count().collect()}
            on_progress(2, 4, "grey-level histograms (Spark over the packed copy)")
            packed = spark.read.parquet(hdfs_uri(settings, datasets.packed_dir(name))).select("class", "content")
            hists = packed.mapInPandas(intensity_histograms, "class string, hist array<double>, mean double")
            agg = (
                hists.groupBy("class")
                .agg(F.count("*").alias("n"), F.avg("mean").alias("mean"), *[F.avg(F.col("hist")[i]).alias(f"h{i}") for i in range(HIST_BINS)])
                .collect()
            )
        on_progress(3, 4, "saving")
    histograms = {r["class"]: {"n": r["n"], "mean": r["mean"], "hist": [r[f"h{i}"] for i in range(HIST_BINS)]} for r in agg}
    file_sizes = {}
    for cls in CLASSES:
        values = sizes.loc[sizes["class"] == cls, "bytes"].to_numpy()
        hist, _ = np.histogram(values, bins=SIZE_BINS)
        file_sizes[cls] = {"hist": hist.tolist(), "median": float(np.median(values)) if len(values) else None}
    stats = {
        "dataset": name,
        "images": int(len(manifest)),
        "manifest_rows": int(len(manifest)),
        "splits": splits,
        "counts": {s: {c: int(counts.get((s, c), 0)) for c in CLASSES} for s in splits},
        "dimensions": sorted(([int(w), int(h), int(n)] for w, h, n in dims), key=lambda t: -t[2]),
        "modes": modes,
        "file_size_bins": SIZE_BINS,
        "file_sizes": file_sizes,
        "intensity_bins": HIST_BINS,
        "intensity": histograms,
        "seconds": round(time.monotonic() - t0, 1),
        "locality": locality.counts,  # Spark tasks by data-locality level
        "computed_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    datasets.replace_file(storage, stats_path(name), json.dumps(stats).encode())
    on_progress(4, 4, "done")
    return stats


def load_stats(storage: Storage, name: str) -> dict | None:
    """Cached statistics, or None when they were never computed or the dataset changed since."""
    try:
        stats = json.loads(storage.read(stats_path(name)))
    except NotFoundError:
        return None
    manifest = datasets.read_manifest(storage, name, strict=False)
    return stats if stats.get("manifest_rows") == len(manifest) else None
