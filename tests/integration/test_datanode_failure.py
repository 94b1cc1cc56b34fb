"""A DataNode process stopped: the NameNode sees it dead, blocks go under-replicated, every file still reads."""

import pytest

from engine.data import datasets
from engine.data.ingest import ingest_dataset
from engine.hdfs import cluster, daemons, probes
from engine.hdfs.storage import verify_reads
from tests.conftest import wait_for
from tests.images import messy_tree


def test_stopped_datanode_loses_no_data(storage, hdfs_cluster, tmp_path):
    if not hdfs_cluster.hdfs_managed:
        pytest.skip("needs the local cluster this engine manages")
    name = "t-failure-demo"
    ingest_dataset(storage, messy_tree(tmp_path / "src"), name)
    manifest = datasets.read_manifest(storage, name)
    expected = dict(zip(manifest["path"], manifest["sha256"]))
    victim = "datanode3"
    try:
        assert cluster.stop_daemon(hdfs_cluster, victim)
        assert daemons.daemon_process(hdfs_cluster, victim) is None
        state = wait_for(lambda: (s := probes.replication_state(hdfs_cluster))["dead_datanodes"] >= 1 and s, 90, "the NameNode to declare the DataNode dead")
        assert state["live_datanodes"] == hdfs_cluster.datanodes - 1
        assert state["missing"] == 0
        check = verify_reads(storage, expected)
        assert check["ok"] == len(expected), check["failed"]
        status = probes.cluster_status(hdfs_cluster)
        assert [d["live"] for d in status["datanodes"] if d["name"] == victim] == [False]
    finally:
        cluster.start_daemon(hdfs_cluster, victim)
        cluster.wait_until_ready(hdfs_cluster, timeout_s=120)
        storage.delete(datasets.dataset_dir(name), recursive=True)
    wait_for(lambda: probes.replication_state(hdfs_cluster)["live_datanodes"] == hdfs_cluster.datanodes, 60, "the restarted DataNode to be live again")
