"""Shared fixtures: real services started once per session and ready by probe, one HDFS folder per test."""

from __future__ import annotations

import contextlib
import re
import secrets
import socket
import time

import pytest

from engine import cluster
from engine.settings import get_settings
from engine.storage import Storage

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


@pytest.fixture(scope="session")
def hdfs_cluster(settings):
    """The local HDFS: reuse the one ./run.sh started, else start it for the session and stop it after."""
    if cluster.is_ready(settings):
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
    root = f"/tests/{name}-{secrets.token_hex(3)}"
    storage.makedirs(root)
    yield root
    storage.delete(root, recursive=True)


@pytest.fixture
def spark(hdfs_cluster):
    """A live local[2] session (recreated if an engine call stopped the previous one)."""
    from engine.spark import create_session

    return create_session(hdfs_cluster, app_name="tests", master="local[2]")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout, what):
    """Poll ``predicate`` until it returns something truthy (returned), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)  # probe interval
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextlib.contextmanager
def sample_dataset(storage, name: str):
    """The shipped 40-scan sample ingested as dataset ``name`` for the duration of the block."""
    from engine import datasets
    from engine.ingest import ingest_dataset
    from tests.images import SAMPLE

    ingest_dataset(storage, SAMPLE, name)
    try:
        yield name
    finally:
        storage.delete(datasets.dataset_dir(name), recursive=True)


def sequential_pixels(storage, name: str, size: int):
    """(pixels [n, size, size, 1], paths) of a dataset prepared by the plain Python loop, sorted by path."""
    import numpy as np

    from engine.preprocess import prepare_table, read_packed

    table = prepare_table(read_packed(storage, name), size).sort_by("path")
    x = np.frombuffer(b"".join(table.column("pixels").to_pylist()), dtype=np.uint8).reshape(-1, size, size, 1)
    return x, table.column("path").to_pylist()
