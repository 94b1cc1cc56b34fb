"""The real local HDFS: DataNodes live, multi-block files replicated, WebHDFS errors in sentences."""

import json
import os
import subprocess
import sys

import pytest

from engine.errors import NotFoundError, StorageError
from engine.hdfs import probes
from engine.hdfs.storage import Storage
from engine.settings import load_settings
from tests.conftest import free_port, wait_for

ENGINE = [sys.executable, "-m", "engine"]


def test_status_shows_every_datanode_live(hdfs_cluster):
    status = probes.cluster_status(hdfs_cluster)
    assert status["namenode"]["live"] is True
    assert status["namenode"]["safemode"] is False
    live = [d for d in status["datanodes"] if d["live"]]
    assert len(live) == hdfs_cluster.datanodes
    for dn in live:
        assert dn["capacity_bytes"] > 0 and dn["used_bytes"] >= 0
        assert dn["host"].startswith("127.0.0.1:")


def test_cli_status_json_contract(hdfs_cluster):
    out = subprocess.run([*ENGINE, "cluster", "status", "--json"], capture_output=True, text=True, timeout=60, check=True).stdout
    data = json.loads(out)
    assert set(data["namenode"]) >= {"url", "live"}
    assert all(set(d) >= {"host", "live", "used_bytes", "capacity_bytes"} for d in data["datanodes"])


def test_multi_block_file_has_two_replicas_per_block(storage, hdfs_root, hdfs_cluster):
    path = f"{hdfs_root}/big.bin"
    data = os.urandom(int(hdfs_cluster.block_size * 2.5))
    storage.write(path, data)
    # A write pipeline that loses a DataNode goes on with fewer (HDFS's replace-datanode-on-failure default for
    # small clusters) and the NameNode re-replicates soon after: "two replicas" is a state the cluster reaches.
    wait_for(lambda: all(len(set(b["hosts"])) == 2 for b in storage.blocks(path)["blocks"]), 120, "two replicas of every block")
    info = storage.blocks(path)
    assert info["length"] == len(data)
    assert info["replication"] == 2
    assert len(info["blocks"]) == 3
    assert [b["offset"] for b in info["blocks"]] == [0, hdfs_cluster.block_size, 2 * hdfs_cluster.block_size]
    assert sum(b["length"] for b in info["blocks"]) == len(data)
    for block in info["blocks"]:
        assert len(set(block["hosts"])) == 2, block
        assert all(h.startswith("datanode") for h in block["hosts"])
    assert storage.read(path) == data


def test_cli_blocks_json_contract(storage, hdfs_root):
    path = f"{hdfs_root}/small.txt"
    storage.write(path, b"hello hdfs\n")
    out = subprocess.run([*ENGINE, "hdfs", "blocks", path, "--json"], capture_output=True, text=True, timeout=60, check=True).stdout
    data = json.loads(out)
    assert set(data) >= {"path", "length", "block_size", "replication", "blocks"}
    assert set(data["blocks"][0]) >= {"block_id", "offset", "length", "hosts"}
    listing = json.loads(subprocess.run([*ENGINE, "hdfs", "ls", hdfs_root, "--json"], capture_output=True, text=True, timeout=60, check=True).stdout)
    assert [e["name"] for e in listing["entries"]] == ["small.txt"]


def test_missing_path_is_a_clear_bad_input(storage, hdfs_root):
    with pytest.raises(NotFoundError, match="does not exist"):
        storage.blocks(f"{hdfs_root}/nope")
    done = subprocess.run([*ENGINE, "hdfs", "ls", f"{hdfs_root}/nope"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "does not exist" in done.stderr and "Traceback" not in done.stderr


def test_blocks_of_a_folder_is_refused(storage, hdfs_root):
    with pytest.raises(StorageError, match="directory"):
        storage.blocks(hdfs_root)


def test_namenode_not_answering_is_reported(tmp_path):
    port = free_port()
    settings = load_settings({"MRI_RUN_DIR": str(tmp_path), "MRI_NAMENODE_HTTP": f"http://127.0.0.1:{port}", "MRI_HDFS_TIMEOUT": "2"})
    status = probes.cluster_status(settings)
    assert status["namenode"]["live"] is False and "not answering" in status["namenode"]["error"]
    with pytest.raises(StorageError, match="is HDFS running"):
        Storage(settings).list("/")
