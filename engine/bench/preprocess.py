"""Benchmark preprocessing back to back on the same images: sequential, a process pool, Spark RDD and Arrow at 1..K workers.

Each Spark configuration is timed end to end in one pass (read from HDFS, prepare, write Parquet to
HDFS), then once more with every phase forced apart, so students see where the time goes: session (JVM)
start, Python worker start, reading, compute and writing. Session start is reported apart and not
counted in the end-to-end time.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import platform
import signal
import statistics
import time

from engine.bench.amdahl import fit_amdahl
from engine.data.pixels import prepare_or_error
from engine.data.preprocess import Method, prepare_table, read_packed, spark_prepare
from engine.hdfs.storage import Storage
from engine.progress import ProgressFn, no_progress
from engine.settings import REPO_ROOT, Settings, get_settings
from engine.spark.locality import task_locality
from engine.spark.session import hdfs_uri, spark_session

logger = logging.getLogger(__name__)


def benchmarks_root() -> str:
    """``<MRI_HDFS_ROOT>/benchmarks``: saved speed experiments."""
    return get_settings().hdfs_path("benchmarks")


def _pool_chunk(args: tuple[list[bytes], int]) -> int:
    contents, size = args
    return sum(1 for c in contents if prepare_or_error(c, size, 1)[0] is not None)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def _time_pool(contents: list[bytes], size: int, workers: int) -> float:
    chunk = max(1, len(contents) // (workers * 8))
    parts = [(contents[i : i + chunk], size) for i in range(0, len(contents), chunk)]
    ctx = mp.get_context("fork")
    t0 = time.perf_counter()
    # The CLI turns SIGTERM into KeyboardInterrupt (so a cancelled job unwinds); forked workers inherit that, and the
    # pool's own shutdown (SIGTERM) then printed a traceback per worker. Workers take the default action again.
    with ctx.Pool(workers, initializer=signal.signal, initargs=(signal.SIGTERM, signal.SIG_DFL)) as pool:
        done = sum(pool.map(_pool_chunk, parts))
    elapsed = time.perf_counter() - t0
    if done != len(contents):
        logger.warning("pool prepared %d of %d images", done, len(contents))
    return elapsed


def _spark_end_to_end(spark, settings: Settings, name: str, size: int, method: Method, input_kind: str, out: str) -> float:
    """The real pipeline in one pass: read from HDFS, prepare, write Parquet to HDFS (no caching)."""
    t0 = time.perf_counter()
    frame, _ = spark_prepare(spark, settings, name, size, method, input_kind=input_kind)
    frame.filter("error is null").drop("error").write.mode("overwrite").parquet(hdfs_uri(settings, out))
    return time.perf_counter() - t0


def _spark_phases(spark, settings: Settings, name: str, size: int, method: Method, input_kind: str, out: str) -> dict:
    """The same run with each phase forced and timed on its own (the caching between phases costs a little extra)."""
    t0 = time.perf_counter()
    frame, count = spark_prepare(spark, settings, name, size, method, input_kind=input_kind, cache_source=True)
    t_read = time.perf_counter() - t0  # listing + reading every byte of the input into memory
    t0 = time.perf_counter()
    frame = frame.cache()
    frame.select("label").count()  # forces compute of every partition (the cached result is reused by write)
    t_compute = time.perf_counter() - t0
    t0 = time.perf_counter()
    frame.drop("error").write.mode("overwrite").parquet(hdfs_uri(settings, out))
    t_write = time.perf_counter() - t0
    frame.unpersist()
    spark.catalog.clearCache()  # the next run reads from HDFS again
    return {"read": t_read, "compute": t_compute, "write": t_write, "images": count}


def benchmark_preprocess(
    settings: Settings,
    storage: Storage,
    name: str,
    workers: list[int] | None = None,
    repeat: int = 3,
    size: int = 128,
    inputs: tuple[str, ...] = ("packed", "files"),
    methods: tuple[Method, ...] = (Method.SPARK_RDD, Method.SPARK_ARROW),
    save: bool = True,
    on_progress: ProgressFn = no_progress,
) -> dict:
    """Run the preprocessing benchmark and return it; with ``save``, also keep it in HDFS and the run folder."""
    cores = os.cpu_count() or 1
    workers = sorted(set(workers or range(1, cores + 1)))
    table = read_packed(storage, name)
    spark_configs = len(methods) * len(inputs)
    tick = _ticker(repeat * (1 + len(workers) * (1 + spark_configs)) + len(workers) * (1 + spark_configs), on_progress)
    runs = _local_runs(table, size, workers, repeat, tick)
    out = f"{benchmarks_root()}/scratch/{name}-{size}px"
    for k in workers:
        runs += _spark_runs(settings, name, size, k, methods, inputs, repeat, out, tick)
    storage.delete(out, recursive=True)
    arrow = {r["workers"]: r["compute_all"] for r in runs if r["method"] == "spark-arrow" and r["input"] == "packed"}
    result = {
        "kind": "preprocess",
        "dataset": name,
        "images": table.num_rows,
        "size": size,
        "cores": cores,
        "repeat": repeat,
        "warmup_runs": 1,
        "workers": workers,
        "runs": runs,
        "amdahl": {**fit_amdahl(arrow), "fitted_on": "spark-arrow, packed input, compute stage"},
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if save:
        save_benchmark(settings, storage, result)
    return result


def _ticker(total: int, on_progress: ProgressFn):
    count = iter(range(1, total + 1))
    return lambda msg: on_progress(next(count, total), total, msg)


def _run_row(method: str, k: int, times: list[float], input_kind: str = "packed", **extra) -> dict:
    return {"method": method, "input": input_kind, "workers": k, "seconds_median": _median(times), "seconds_all": [round(t, 3) for t in times], **extra}


def _local_runs(table, size: int, workers: list[int], repeat: int, tick) -> list[dict]:
    """The sequential baseline and the process pool at each worker count, all on the packed copy."""
    contents = table.column("content").to_pylist()
    seq = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        prepare_table(table, size)
        seq.append(time.perf_counter() - t0)
        tick("sequential")
    runs = [_run_row("sequential", 1, seq, breakdown={"compute": _median(seq)})]
    for k in workers:
        times = []
        for _ in range(repeat):
            times.append(_time_pool(contents, size, k))
            tick(f"process pool x{k}")
        runs.append(_run_row("pool", k, times, breakdown={"compute": _median(times)}))
    return runs


def _spark_runs(settings: Settings, name: str, size: int, k: int, methods, inputs, repeat: int, out: str, tick) -> list[dict]:
    """Every Spark method and input on one local[k] session: end-to-end times, then an instrumented breakdown."""
    runs = []
    t0 = time.perf_counter()
    with spark_session(settings, f"benchmark-{name}-x{k}", f"local[{k}]") as spark:
        session_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        spark.sparkContext.parallelize(range(k * 2), k).map(lambda v: v).count()  # start the Python workers
        worker_start_s = time.perf_counter() - t0
        tick(f"Spark local[{k}] started")
        for method in methods:
            for input_kind in inputs:
                # One untimed run first: class loading and JIT warm-up would otherwise land on the first
                # timed run, and a method would look several times faster at 2 workers than at 1.
                _spark_end_to_end(spark, settings, name, size, method, input_kind, out)
                totals = []
                with task_locality(spark, f"{method}-{input_kind}-x{k}") as locality:
                    for _ in range(repeat):
                        totals.append(_spark_end_to_end(spark, settings, name, size, method, input_kind, out))
                        tick(f"{method} {input_kind} x{k}")
                # As many instrumented runs as repeats: their medians are the breakdown.
                parts = [_spark_phases(spark, settings, name, size, method, input_kind, out) for _ in range(repeat)]
                tick(f"{method} {input_kind} x{k}: phases")
                breakdown = {
                    "session_start": round(session_s, 3),
                    "python_worker_start": round(worker_start_s, 3),
                    **{phase: _median([p[phase] for p in parts]) for phase in ("read", "compute", "write")},
                }
                runs.append(
                    _run_row(
                        str(method), k, totals, input_kind, breakdown=breakdown, compute_all=[round(p["compute"], 3) for p in parts], locality=locality.counts
                    )
                )
    return runs


def machine() -> dict:
    """Where a measurement ran: timings only compare within one machine (and one run)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30),
        "platform": platform.platform(terse=True),
        "processor": platform.processor() or platform.machine(),
    }


def save_benchmark(settings: Settings, storage: Storage, result: dict) -> str:
    run_id = f"{result['kind']}-{result['dataset']}-{time.strftime('%Y%m%d-%H%M%S')}"
    result["run_id"] = run_id
    result.setdefault("machine", machine())
    data = json.dumps(result, indent=1).encode()
    local = settings.run_dir / "benchmarks"
    local.mkdir(parents=True, exist_ok=True)
    (local / f"{run_id}.json").write_bytes(data)
    storage.makedirs(benchmarks_root())
    storage.write(f"{benchmarks_root()}/{run_id}.json", data, overwrite=True)
    return run_id


def list_benchmarks(settings: Settings, storage: Storage | None, kind: str | None = None) -> list[dict]:
    """Saved benchmark results (HDFS and the run folder), newest first."""
    found: dict[str, dict] = {}
    local = settings.run_dir / "benchmarks"
    if local.is_dir():
        for path in local.glob("*.json"):
            try:
                found[path.stem] = json.loads(path.read_text())
            except ValueError:
                continue
    if storage is not None and storage.exists(benchmarks_root()):
        for entry in storage.list(benchmarks_root()):
            if entry["name"].endswith(".json") and entry["name"][:-5] not in found:
                try:
                    found[entry["name"][:-5]] = json.loads(storage.read(entry["path"]))
                except ValueError:
                    continue
    items = [r for r in found.values() if kind is None or r.get("kind") == kind]
    return sorted(items, key=lambda r: r.get("created", ""), reverse=True)


REFERENCE_DIR = REPO_ROOT / "assets" / "reference"


def reference_benchmarks(kind: str) -> list[dict]:
    """Results shipped in assets/reference/ (measured by the project on its own machine), newest first, each
    marked ``"reference": True``: shown until the user's own measurement exists, then beside it."""
    found = []
    for path in sorted(REFERENCE_DIR.glob(f"{kind}-*.json")):
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if result.get("kind") == kind:
            found.append({**result, "reference": True})
    return sorted(found, key=lambda r: r.get("created", ""), reverse=True)
