"""Shared fixtures: real services started once per session and ready by probe, one HDFS folder per test.

The suite never touches the user's state: before anything reads the settings, it points ``MRI_RUN_DIR`` at a
folder of its own and ``MRI_HDFS_ROOT`` at an HDFS folder of its own (jobs and dashboards it starts inherit
both). It shares only the running HDFS daemons (``MRI_HDFS_DIR``), and checks at the end that the user's
datasets, models, jobs, default model and audit log are exactly as it found them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from engine.settings import load_settings
from tests.e2e.browser import free_port  # noqa: F401 (the integration tests import it from here)

USER_SETTINGS = load_settings()  # the user's, read before the suite's own take over
TEST_RUN_DIR = Path(tempfile.mkdtemp(prefix="mri-tests-"))
os.environ.update(
    {
        "MRI_RUN_DIR": str(TEST_RUN_DIR),
        "MRI_HDFS_DIR": str(USER_SETTINGS.hdfs_dir),  # share the daemons ./run.sh started, not their data
        "MRI_HDFS_ROOT": f"/mri-tests-{secrets.token_hex(3)}",
    }
)

from engine.hdfs import cluster, probes  # noqa: E402
from engine.hdfs.storage import Storage  # noqa: E402
from engine.settings import get_settings  # noqa: E402

LAYERS = ("unit", "integration", "app", "e2e")


def pytest_collection_modifyitems(items):
    # The folder a test lives in is its layer marker.
    for item in items:
        for layer in LAYERS:
            if f"/tests/{layer}/" in str(item.fspath):
                item.add_marker(getattr(pytest.mark, layer))


@pytest.fixture(scope="session")
def settings():
    return get_settings()


def user_state(storage: Storage | None) -> dict:
    """A fingerprint of the user's own state: HDFS tree under the user's root, jobs, default model, audit log."""
    run = USER_SETTINGS.run_dir
    audit = run / "audit" / "classifications.jsonl"
    state = {
        "jobs": sorted(p.name for p in (run / "jobs").iterdir()) if (run / "jobs").is_dir() else [],
        "default_model": (run / "default_model.txt").read_text() if (run / "default_model.txt").exists() else None,
        "audit_log": hashlib.sha256(audit.read_bytes()).hexdigest() if audit.exists() else None,
        "models": sorted(p.name for p in (run / "models").iterdir()) if (run / "models").is_dir() else [],
    }
    if storage is not None:
        tree = []
        for sub in ("datasets", "models", "benchmarks"):
            root = USER_SETTINGS.hdfs_path(sub)
            if storage.exists(root):
                for entry in storage.list(root):
                    tree.append((entry["path"], entry["modified_ms"]))
                    if entry["type"] == "directory":
                        tree += [(e["path"], e["length"], e["modified_ms"]) for e in storage.list(entry["path"])]
        state["hdfs"] = tree
    return state


@pytest.fixture(scope="session", autouse=True)
def users_state_untouched(request):
    """Fails the session (an error at teardown) if the suite changed anything of the user's."""
    storage = Storage(USER_SETTINGS) if probes.is_ready(USER_SETTINGS) else None
    before = user_state(storage)
    yield
    try:
        after = user_state(storage if storage is not None and probes.is_ready(USER_SETTINGS) else None)
        if storage is None or "hdfs" not in after:
            before.pop("hdfs", None)
            after.pop("hdfs", None)
        changed = [k for k in before if before[k] != after.get(k)]
        assert not changed, f"the test suite changed the user's state: {changed}"
    finally:
        try:
            test_storage = Storage(get_settings())
            if probes.is_ready(get_settings()):
                test_storage.delete(get_settings().hdfs_root, recursive=True)
        except Exception:  # noqa: BLE001 - best-effort cleanup of the suite's own HDFS folder
            pass
        shutil.rmtree(TEST_RUN_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def hdfs_cluster(settings):
    """The local HDFS: reuse the one ./run.sh started, else start it for the session and stop it after."""
    if probes.is_ready(settings):
        yield settings
        return
    if not settings.hdfs_managed:
        pytest.fail(f"The configured NameNode {settings.namenode_http} is not answering.")
    result = cluster.cluster_up(settings)
    try:
        yield settings
    finally:
        if result["started"]:
            cluster.cluster_down(settings)


@pytest.fixture(scope="session")
def storage(hdfs_cluster):
    return Storage(hdfs_cluster)


@pytest.fixture
def hdfs_root(storage, request):
    """A fresh HDFS folder for one test, wiped afterwards."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)[:60]
    root = storage.settings.hdfs_path("tests", f"{name}-{secrets.token_hex(3)}")
    storage.makedirs(root)
    yield root
    storage.delete(root, recursive=True)


@pytest.fixture
def spark(hdfs_cluster):
    """A live local[2] session (recreated if an engine call stopped the previous one)."""
    from engine.spark.session import create_session

    return create_session(hdfs_cluster, app_name="tests", master="local[2]")


def wait_for(predicate, timeout, what):
    """Poll ``predicate`` until it returns something truthy (returned), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)  # probe interval
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def cluster_settled(settings) -> bool:
    """Every DataNode live and not stale, every block at its replication, and no ordered copy still pending
    (a block waiting on a re-replication is not counted as under-replicated)."""
    from engine.hdfs import probes

    s = probes.replication_state(settings)
    live = s["live_datanodes"] == settings.datanodes and s["stale_datanodes"] == 0
    return live and s["under_replicated"] == 0 and s["pending_replication"] == 0 and s["missing"] == 0


def wait_cluster_settled(settings, timeout_s: float = 180) -> None:
    """Wait for :func:`cluster_settled` before a fault: a file written or read while the cluster is still taking
    back a DataNode an earlier test stopped can have its only replica on the node the fault then stops."""
    if settings.hdfs_managed:
        wait_for(lambda: cluster_settled(settings), timeout_s, "every DataNode live and every block fully replicated")


@contextlib.contextmanager
def sample_dataset(storage, name: str):
    """The shipped 40-scan sample ingested as dataset ``name`` for the duration of the block."""
    from engine.data import datasets
    from engine.data.ingest import ingest_dataset
    from tests.images import SAMPLE

    ingest_dataset(storage, SAMPLE, name)
    try:
        yield name
    finally:
        storage.delete(datasets.dataset_dir(name), recursive=True)


def sequential_pixels(storage, name: str, size: int):
    """(pixels [n, size, size, 1], paths) of a dataset prepared by the plain Python loop, sorted by path."""
    import numpy as np

    from engine.data.preprocess import prepare_table, read_packed

    table = prepare_table(read_packed(storage, name), size).sort_by("path")
    x = np.frombuffer(b"".join(table.column("pixels").to_pylist()), dtype=np.uint8).reshape(-1, size, size, 1)
    return x, table.column("path").to_pylist()
