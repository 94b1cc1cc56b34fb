"""Spark preprocessing of a dataset into Parquet on HDFS (``/mri/datasets/<N>/prepared/<PX>px/``).

Three ways to run the same per-image function (:mod:`engine.data.pixels`):
sequential Python, Spark RDD ``mapPartitions``, and Spark DataFrame ``mapInArrow``.
They differ only in how they run it, so their outputs are identical.
"""

from __future__ import annotations

import io
import logging
import time
from enum import StrEnum

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from engine.data import datasets
from engine.data.executor import prepare_arrow, prepare_partition, prepared_columns
from engine.data.pixels import DEFAULT_SIZE, prepare_or_error
from engine.errors import InputError, SparkJobError
from engine.hdfs.storage import Storage
from engine.progress import ProgressFn, no_progress
from engine.settings import Settings
from engine.spark.locality import task_locality
from engine.spark.progress import track_tasks
from engine.spark.session import hdfs_uri, spark_session

logger = logging.getLogger(__name__)

PREPARED_SCHEMA = "path string, split string, class string, label int, sha256 string, pixels binary, error string"
ROWS_PER_PARTITION = 256  # ~2 MiB of JPEGs per task: enough work per task to hide its overhead
# Tasks per core when reading the packed copy. Each task pays a fixed cost (open Parquet on HDFS, hand Arrow
# batches to Python, create and close one replicated output file): with 2 MiB splits (21 tasks for the 41 MB
# packed copy of the 5,708 scans) Spark x2 took 4.6-5.3 s end to end against 1.4 s for a 2-process pool.
# Two tasks per core keep the cores loaded while paying that cost only a few times (3 or 4 per core
# measured no better here).
PACKED_TASKS_PER_CORE = 2


class Method(StrEnum):
    SEQUENTIAL = "sequential"
    POOL = "pool"
    SPARK_RDD = "spark-rdd"
    SPARK_ARROW = "spark-arrow"


def prepared_dir(name: str, size: int) -> str:
    return f"{datasets.dataset_dir(name)}/prepared/{size}px"


def _check_size(size: int) -> None:
    if not 16 <= size <= 512:
        raise InputError(f"--size {size} is out of range; use 16 to 512 pixels (the default model uses {DEFAULT_SIZE}).")


def read_packed(storage: Storage, name: str) -> pa.Table:
    """The packed copy of a dataset as one Arrow table (path, split, class, sha256, content)."""
    files = [e["path"] for e in storage.parquet_parts(datasets.packed_dir(name))]
    if not files:
        raise InputError(f"Dataset {name!r} has no packed copy; ingest it first with `python -m engine dataset ingest`.")
    return pa.concat_tables(pq.read_table(io.BytesIO(storage.read(f))) for f in files)


def prepare_table(table: pa.Table, size: int, channels: int = 1) -> pa.Table:
    """Sequential path: the per-image function in a plain Python loop."""
    cols = table.select(["path", "split", "class", "sha256", "content"]).to_pydict()
    pixels, errors = [], []
    for content in cols["content"]:
        p, e = prepare_or_error(content, size, channels)
        pixels.append(p)
        errors.append(e)
    return pa.table(prepared_columns(cols, pixels, errors))


def spark_prepare(spark, settings: Settings, name: str, size: int, method: Method, channels: int = 1, input_kind: str = "packed", cache_source: bool = False):
    """The prepared DataFrame (lazy) for a Spark method, reading the packed copy or one file per scan.

    Returns (frame, image count). With ``cache_source`` the input is read into memory by the count,
    so a benchmark can time reading apart from computing.
    """
    from pyspark.sql import functions as F

    if input_kind == "packed":
        # Spark splits files into total bytes / minPartitionNum (up to maxPartitionBytes, 128 MiB), at row groups.
        spark.conf.set("spark.sql.files.minPartitionNum", str(PACKED_TASKS_PER_CORE * settings_parallelism(spark)))
        source = spark.read.parquet(hdfs_uri(settings, datasets.packed_dir(name))).select("path", "split", "class", "sha256", "content")
        if source.rdd.getNumPartitions() < settings_parallelism(spark):
            # A small dataset fits one row group, hence one task: spread it so every core has work.
            source = source.repartition(settings_parallelism(spark))
    else:
        manifest = spark.read.parquet(hdfs_uri(settings, datasets.manifest_path(name))).select("path", "split", "class", "sha256")
        files = spark.read.format("binaryFile").load(hdfs_uri(settings, f"{datasets.raw_dir(name)}/*/*/*"))
        files = files.select(F.regexp_replace("path", r"^hdfs://[^/]+", "").alias("path"), "content")
        source = files.join(manifest, "path")
        source = source.repartition(max(settings_parallelism(spark), int(manifest.count()) // ROWS_PER_PARTITION + 1))
    if cache_source:
        source = source.cache()
    count = source.count()
    if method == Method.SPARK_RDD:
        rdd = source.rdd.mapPartitions(lambda rows: prepare_partition(rows, size, channels))
        return spark.createDataFrame(rdd, PREPARED_SCHEMA), count
    if method == Method.SPARK_ARROW:
        return source.mapInArrow(prepare_arrow(size, channels), PREPARED_SCHEMA), count
    raise InputError(f"{method} is not a Spark method; use spark-rdd or spark-arrow.")


def settings_parallelism(spark) -> int:
    return spark.sparkContext.defaultParallelism


MAX_INPUT_BLOCKS = 50  # listed in a result; enough to match the reading tasks to the blocks they read


def input_blocks(storage: Storage, name: str) -> list[dict]:
    """The blocks of the packed copy Spark read: each with its size and the DataNodes (and racks) holding it."""
    rows = []
    for part in storage.parquet_parts(datasets.packed_dir(name)):
        for i, b in enumerate(storage.blocks(part["path"])["blocks"]):
            rows.append({"file": part["name"], "block": i, "bytes": b["length"], "hosts": b["addresses"], "racks": b["racks"]})
    return rows[:MAX_INPUT_BLOCKS]


def _output_summary(storage: Storage, out: str) -> dict:
    parts = storage.parquet_parts(out)
    return {"files": len(parts), "bytes": int(sum(p["length"] for p in parts)), "blocks": sum(len(storage.blocks(p["path"])["blocks"]) for p in parts)}


def preprocess_dataset(
    settings: Settings,
    storage: Storage,
    name: str,
    size: int = DEFAULT_SIZE,
    workers: int | None = None,
    method: Method = Method.SPARK_ARROW,
    master: str | None = None,
    on_progress: ProgressFn = no_progress,
) -> dict:
    """Prepare every image of ``name`` and write Parquet to ``/mri/datasets/<name>/prepared/<size>px/``.

    Args:
        size: output side in pixels.
        workers: Spark local workers (``local[workers]``); ignored when ``master`` is given.
        method: spark-arrow (default) or spark-rdd.
    Returns:
        a summary with images, failed images (reported, not fatal), output path, partitions, files and blocks.
    """
    _check_size(size)
    datasets.read_manifest(storage, name)  # a clear error before Spark starts if the dataset is missing
    master = master or (f"local[{workers}]" if workers else None)
    out = prepared_dir(name, size)
    t0 = time.monotonic()
    on_progress(0, None, "starting Spark")
    with spark_session(settings, f"preprocess-{name}", master) as spark:
        ui = spark.sparkContext.uiWebUrl
        t_session = time.monotonic() - t0
        with task_locality(spark, f"preprocess-{name}") as locality:
            frame, count = spark_prepare(spark, settings, name, size, Method(method))
            frame = frame.cache()
            with track_tasks(spark, on_progress, "preparing images"):
                try:
                    frame.drop("pixels").filter("error is null").count()
                    frame.filter("error is null").drop("error").write.mode("overwrite").parquet(hdfs_uri(settings, out))
                except Exception as err:  # py4j wraps executor failures in its own types
                    raise SparkJobError(f"Spark preprocessing of {name!r} failed: {str(err).splitlines()[0][:300]}") from err
        failed = [{"path": r["path"], "reason": r["error"]} for r in frame.filter("error is not null").select("path", "error").collect()]
        partitions = frame.rdd.getNumPartitions()
        master_used = spark.sparkContext.master
    result = {
        "dataset": name,
        "size": size,
        "method": str(method),
        "master": master_used,
        "images": count - len(failed),
        "failed": failed,
        "output": out,
        "partitions": partitions,
        **_output_summary(storage, out),
        "seconds": round(time.monotonic() - t0, 2),
        "session_seconds": round(t_session, 2),
        "spark_ui": ui,
        "locality": locality.as_dict(),  # where each task ran and how local its input was (Spark's own record)
        "input_blocks": input_blocks(storage, name),
    }
    on_progress(1, 1, "done")
    logger.info("preprocessed %s at %d px: %d images, %d failed, %.1f s", name, size, result["images"], len(failed), result["seconds"])
    return result


def read_prepared(storage: Storage, name: str, size: int = DEFAULT_SIZE) -> tuple[np.ndarray, np.ndarray, list]:
    """Prepared images of a dataset as (x uint8 [n, size, size, c], y int [n], paths), sorted by path."""
    out = prepared_dir(name, size)
    if not storage.exists(out):
        raise InputError(f"Dataset {name!r} is not preprocessed at {size} px; run `python -m engine preprocess {name} --size {size}`.")
    files = [e["path"] for e in storage.parquet_parts(out)]
    table = pa.concat_tables(pq.read_table(io.BytesIO(storage.read(f))) for f in files).sort_by("path")
    pixels = table.column("pixels").to_pylist()
    channels = len(pixels[0]) // (size * size) if pixels else 1
    x = np.frombuffer(b"".join(pixels), dtype=np.uint8).reshape(len(pixels), size, size, channels)
    return x, np.asarray(table.column("label").to_pylist(), dtype=np.int64), table.column("path").to_pylist()
