"""Faults survived against the real services: a DataNode stopped during a Spark job, a Spark Python worker
killed mid-task, and HDFS out of space during an ingest."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import requests

from engine.data import datasets
from engine.data.executor import FAULT_KILL_WORKER_ONCE
from engine.data.ingest import ingest_dataset
from engine.data.preprocess import read_prepared
from engine.errors import StorageError
from engine.hdfs import cluster
from engine.jobs import store as jobs
from engine.settings import REPO_ROOT
from tests.conftest import sample_dataset, sequential_pixels, wait_cluster_settled, wait_for
from tests.images import SAMPLE

DATASET = "t-faults"


@pytest.fixture(scope="module")
def dataset(settings, storage):
    # Written only once the cluster has taken back the DataNodes earlier tests stopped, so that every block of
    # it gets its replicas when written (CI of 2026-12-05 00:01: a block written 9 s after a restart got one).
    wait_cluster_settled(settings)
    with sample_dataset(storage, DATASET) as name:
        wait_cluster_settled(settings)
        yield name


def run_killing_one_worker(argv: list[str], tmp_path, timeout_s: int) -> subprocess.CompletedProcess:
    """``python -m engine ARGV`` with one Spark Python worker killed by SIGKILL mid-task; asserts that it ran to
    the end, that the kill happened, and that Spark saw the lost task and retried it."""
    flag = tmp_path / "killed-once"
    env = {**os.environ, FAULT_KILL_WORKER_ONCE: str(flag)}
    proc = subprocess.run([sys.executable, "-m", "engine", *argv], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert flag.exists()
    assert "Lost task" in proc.stderr or "exited unexpectedly" in proc.stderr
    return proc


def test_datanode_stopped_during_a_spark_job_loses_nothing(settings, storage, dataset):
    if not settings.hdfs_managed:
        pytest.skip("needs the local cluster this engine manages")
    # HDFS keeps data through a lost DataNode once every block has its replicas. A file closed seconds ago, while
    # the cluster was still taking back the DataNodes an earlier test stopped, can hold a block with one replica
    # (CI of stop 24: that block sat on the victim), so the test starts from a fully replicated cluster.
    wait_cluster_settled(settings)
    job = jobs.submit_job(settings, ["preprocess", dataset, "--size", "64", "--workers", "2"], title="fault: DataNode stop")
    victim = "datanode2"
    try:
        # Stop it once the job runs: the NameNode still lists it live for ~20 s, so Spark's reads and
        # writes first try the dead DataNode and must fail over to the other replica / another node.
        wait_for(lambda: jobs.get_job(settings, job.id).progress is not None, 60, "the job to start")
        assert cluster.stop_daemon(settings, victim)
        assert not jobs.get_job(settings, job.id).status.finished  # really in the middle of the job
        done = jobs.wait_for_job(settings, job.id, timeout_s=300)
        assert done.status == jobs.JobStatus.SUCCEEDED, done.error
        assert done.result["images"] == 40 and done.result["failed"] == []
        x, _, paths = read_prepared(storage, dataset, 64)
        x_seq, paths_seq = sequential_pixels(storage, dataset, 64)
        assert paths == paths_seq and np.array_equal(x, x_seq)
    finally:
        cluster.start_daemon(settings, victim)
        cluster.wait_until_ready(settings, timeout_s=120)
    # Back with its old replicas, the cluster heals: nothing missing, nothing under-replicated.
    wait_cluster_settled(settings, timeout_s=120)


def test_killed_python_worker_is_retried_and_output_is_complete(settings, storage, dataset, tmp_path):
    wait_cluster_settled(settings)
    # a Python worker really dies by SIGKILL mid-task, and Spark sees it and retries
    proc = run_killing_one_worker(["preprocess", dataset, "--size", "48", "--workers", "2", "--json"], tmp_path, timeout_s=300)
    result = json.loads(proc.stdout)
    assert result["images"] == 40 and result["failed"] == []
    x, _, paths = read_prepared(storage, dataset, 48)
    x_seq, paths_seq = sequential_pixels(storage, dataset, 48)
    assert paths == paths_seq and np.array_equal(x, x_seq)


def test_training_worker_killed_mid_epoch_is_retried(settings, storage, dataset, tmp_path):
    wait_cluster_settled(settings)
    from engine.data.preprocess import prepared_dir, preprocess_dataset
    from engine.ml import registry

    if not storage.exists(prepared_dir(dataset, 48)):
        preprocess_dataset(settings, storage, dataset, size=48, workers=2)
    # an Elephas worker really dies by SIGKILL in the middle of an epoch, and Spark retries its task
    argv = ["train", dataset, "--mode", "synchronous", "--workers", "2", "--epochs", "2", "--batch-size", "4", "--size", "48", "--json"]
    proc = run_killing_one_worker(argv, tmp_path, timeout_s=600)
    card = json.loads(proc.stdout)
    try:
        assert [h["epoch"] for h in card["history"]] == [1, 2] and card["validation"]["n"] > 0
    finally:
        storage.delete(f"{registry.models_root()}/{card['model_id']}", recursive=True)


def set_space_quota(settings, path: str, quota: int) -> None:
    params = {"op": "SETQUOTA", "namespacequota": -1, "storagespacequota": quota, "user.name": settings.hdfs_user}
    resp = requests.put(f"{settings.namenode_http}/webhdfs/v1{path}", params=params, timeout=10)
    assert resp.status_code == 200, resp.text[:300]


def test_hdfs_out_of_space_is_a_sentence_and_leaves_no_partial_dataset(settings, storage):
    name = "t-quota-full"
    folder = datasets.dataset_dir(name)
    storage.makedirs(folder)
    set_space_quota(settings, folder, 3 * 1024 * 1024)  # room for one block and its replica, not for 40 scans
    try:
        with pytest.raises(StorageError) as err:
            ingest_dataset(storage, SAMPLE, name)
        message = str(err.value)
        assert "rolled back" in message and "no room" in message and "quota" in message.lower()
        assert "Traceback" not in message
        assert not storage.exists(folder) or storage.list(folder) == []
        assert name not in [d["name"] for d in datasets.list_datasets(storage)]
    finally:
        if storage.exists(folder):
            set_space_quota(settings, folder, -1)  # -1 clears it
            storage.delete(folder, recursive=True)
