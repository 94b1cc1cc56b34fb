"""Benchmark: read a whole dataset through Spark as one-file-per-scan against the packed Parquet copy."""

from __future__ import annotations

import statistics
import time

from engine.data import datasets
from engine.hdfs.storage import Storage
from engine.progress import ProgressFn, no_progress
from engine.settings import Settings
from engine.spark.locality import task_locality
from engine.spark.session import hdfs_uri, spark_session


def benchmark_read(settings: Settings, storage: Storage, name: str, repeat: int = 3, master: str | None = None, on_progress: ProgressFn = no_progress) -> dict:
    """Time Spark reading every byte of dataset ``name`` both ways, ``repeat`` times each (warm session).

    Returns ``{"dataset", "images", "bytes", "runs": [{"input", "seconds_median", "seconds_all", "files", "partitions"}]}``.
    """
    from pyspark.sql import functions as F

    manifest = datasets.read_manifest(storage, name)
    runs = []
    with spark_session(settings, f"read-benchmark-{name}", master) as spark:
        raw_glob = hdfs_uri(settings, f"{datasets.raw_dir(name)}/*/*/*")
        packed = hdfs_uri(settings, datasets.packed_dir(name))
        spark.range(1000).count()  # warm the JVM and the Python workers once, outside the timings
        readers = {
            "files": lambda: spark.read.format("binaryFile").load(raw_glob).select(F.length("content").alias("n")),
            "packed": lambda: spark.read.parquet(packed).select(F.length("content").alias("n")),
        }
        step = 0
        for kind, make in readers.items():
            times, total, parts = [], 0, 0
            with task_locality(spark, f"read-{kind}") as locality:
                for _ in range(repeat):
                    on_progress(step, 2 * repeat, f"reading {kind}")
                    t0 = time.perf_counter()
                    df = make()
                    total = df.agg(F.sum("n")).collect()[0][0]
                    times.append(time.perf_counter() - t0)
                    parts = df.rdd.getNumPartitions()
                    step += 1
            runs.append(
                {
                    "input": kind,
                    "seconds_median": round(statistics.median(times), 3),
                    "seconds_all": [round(t, 3) for t in times],
                    "bytes_read": int(total or 0),
                    "partitions": parts,
                    "locality": locality.counts,
                }
            )
    on_progress(2 * repeat, 2 * repeat, "done")
    by = {r["input"]: r for r in runs}
    return {
        "dataset": name,
        "images": int(len(manifest)),
        "bytes": int(manifest["bytes"].sum()),
        "repeat": repeat,
        "master": master or settings.spark_master,
        "runs": runs,
        "packed_speedup": round(by["files"]["seconds_median"] / by["packed"]["seconds_median"], 2),
    }
