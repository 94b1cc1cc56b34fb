"""Preprocessing: every path gives identical arrays; the job runs unchanged on a real standalone Spark cluster."""

import json
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from engine.bench.preprocess import benchmark_preprocess
from engine.data import datasets
from engine.data.preprocess import Method, preprocess_dataset, read_prepared
from engine.errors import InputError
from engine.settings import get_settings
from engine.spark import standalone as spark_cluster
from tests.conftest import free_port, sample_dataset, sequential_pixels

DATASET = "t-prep"


@pytest.fixture(scope="module")
def dataset(storage):
    with sample_dataset(storage, DATASET) as name:
        yield name


def test_rdd_arrow_and_sequential_agree(settings, storage, dataset):
    preprocess_dataset(settings, storage, dataset, size=48, workers=2, method=Method.SPARK_RDD)
    x_rdd, y_rdd, p_rdd = read_prepared(storage, dataset, 48)
    result = preprocess_dataset(settings, storage, dataset, size=48, workers=2, method=Method.SPARK_ARROW)
    x_arrow, y_arrow, p_arrow = read_prepared(storage, dataset, 48)
    x_seq, p_seq = sequential_pixels(storage, dataset, 48)
    assert p_rdd == p_arrow == p_seq
    assert np.array_equal(x_rdd, x_arrow) and np.array_equal(x_arrow, x_seq)
    assert np.array_equal(y_rdd, y_arrow) and sorted(set(y_arrow.tolist())) == [0, 1, 2, 3]
    assert result["images"] == 40 and result["failed"] == [] and result["blocks"] >= result["files"]


def test_unreadable_image_is_reported_not_fatal(settings, storage, dataset, tmp_path):
    # A packed row whose bytes do not decode (as if a file were damaged after ingest).
    import io

    import pyarrow as pa

    bad = pa.table(
        {"path": ["/x/bad.jpg"], "split": ["train"], "class": ["glioma"], "sha256": ["0" * 64], "content": pa.array([b"\xff\xd8\xff broken"], pa.binary())}
    )
    buf = io.BytesIO()
    pq.write_table(bad, buf)
    target = f"{datasets.packed_dir(dataset)}/part-zz-broken.parquet"
    storage.write(target, buf.getvalue())
    try:
        result = preprocess_dataset(settings, storage, dataset, size=32, workers=2)
        assert result["images"] == 40
        assert [f["path"] for f in result["failed"]] == ["/x/bad.jpg"]
    finally:
        storage.delete(target)


def test_same_output_on_a_standalone_cluster(settings, storage, dataset):
    preprocess_dataset(settings, storage, dataset, size=40, workers=2)
    local = read_prepared(storage, dataset, 40)
    port, ui = free_port(), free_port()
    with spark_cluster.standalone_cluster(settings, workers=2, port=port, ui_port=ui) as master:
        result = preprocess_dataset(settings, storage, dataset, size=40, master=master)
        assert result["master"] == master
    # The workers run beside the DataNodes (their addresses), so Spark schedules reads where a replica is.
    counts = result["locality"]["counts"]
    assert counts.get("NODE_LOCAL", 0) > 0, result["locality"]["stages"]
    assert {t["host"] for t in result["locality"]["tasks"]} <= set(spark_cluster.worker_hosts(settings, 2))
    # ...and the result names the blocks those tasks read, with the hosts holding each replica.
    assert result["input_blocks"] and all(len(b["hosts"]) == settings.replication for b in result["input_blocks"])
    remote = read_prepared(storage, dataset, 40)
    assert local[2] == remote[2]
    assert np.array_equal(local[0], remote[0]) and np.array_equal(local[1], remote[1])


def test_preprocess_bad_input(settings, storage, dataset):
    with pytest.raises(InputError, match="out of range"):
        preprocess_dataset(settings, storage, dataset, size=4)
    out = subprocess.run([sys.executable, "-m", "engine", "preprocess", "no-such-dataset"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "no dataset" in out.stderr


def test_benchmark_json_is_complete(settings, storage, dataset):
    r = benchmark_preprocess(settings, storage, dataset, workers=[1, 2], repeat=1, size=32, inputs=("packed",))
    assert r["kind"] == "preprocess" and r["images"] == 40 and r["cores"] >= 1
    methods = {(x["method"], x["input"], x["workers"]) for x in r["runs"]}
    assert {("sequential", "packed", 1), ("pool", "packed", 2), ("spark-rdd", "packed", 2), ("spark-arrow", "packed", 1)} <= methods
    for run in r["runs"]:
        assert set(run) >= {"method", "input", "workers", "seconds_median", "seconds_all"}
        assert run["seconds_median"] > 0
    assert 0 <= r["amdahl"]["serial_fraction"] <= 1
    saved = f"{get_settings().hdfs_root}/benchmarks/{r['run_id']}.json"
    try:
        assert storage.exists(saved)
        assert json.loads(storage.read(saved))["runs"] == r["runs"]
    finally:  # the user's Speedup page lists saved runs: leave none from tests
        storage.delete(saved)
        (settings.run_dir / "benchmarks" / f"{r['run_id']}.json").unlink(missing_ok=True)
