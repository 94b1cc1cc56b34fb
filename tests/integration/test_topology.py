"""Hosts and racks: each DataNode on its own loopback address, on two racks; every block spans both racks, and
a whole rack can stop without a byte lost."""

import hashlib
import os
import time

import pytest

from engine.errors import ClusterError
from engine.hdfs import cluster, daemons, probes
from tests.conftest import cluster_settled, wait_for


@pytest.fixture
def managed(hdfs_cluster):
    if not hdfs_cluster.hdfs_managed or len(hdfs_cluster.racks) < 2 or not daemons.loopback_aliases_work():
        pytest.skip("needs the local cluster on two racks, each DataNode on its own loopback address")
    # A DataNode another test restarted may not have re-registered yet; a block written meanwhile gets fewer
    # replicas than asked (the NameNode says "Failed to place enough replicas"), so start from a whole cluster.
    wait_for(lambda: all_heard_from(hdfs_cluster), 120, "every DataNode to be live and recently heard from")
    return hdfs_cluster


def all_heard_from(settings) -> bool:
    nodes = probes.cluster_status(settings)["datanodes"]
    fresh = [d for d in nodes if d["live"] and (d.get("last_contact_s") or 0) <= 2]
    return len(fresh) == settings.datanodes and cluster_settled(settings)


def test_datanodes_register_under_their_own_addresses_and_racks(managed):
    status = probes.cluster_status(managed)
    live = [d for d in status["datanodes"] if d["live"]]
    expected = {d.name: (d.address, d.rack) for d in daemons.daemons(managed) if d.is_datanode}
    assert {d["name"]: (d["address"], d["rack"]) for d in live} == expected
    assert len({d["address"].split(":")[0] for d in live}) == managed.datanodes, "one host per DataNode"


def test_every_block_of_a_multi_block_file_spans_two_racks(managed, storage, hdfs_root):
    path = f"{hdfs_root}/racks.bin"
    storage.write(path, os.urandom(int(managed.block_size * 3.5)))
    info = storage.blocks(path)
    assert len(info["blocks"]) == 4
    for block in info["blocks"]:
        assert len(block["racks"]) == managed.replication
        assert len(set(block["racks"])) == 2, f"blk_{block['block_id']} has every replica on {block['racks'][0]}"
        assert all(a.split(":")[0].startswith("127.0.0.1") for a in block["addresses"])


def test_files_read_byte_identical_while_a_whole_rack_is_stopped(managed, storage, hdfs_root):
    files = {f"{hdfs_root}/rack-{i}.bin": os.urandom(int(managed.block_size * 1.5)) for i in range(4)}
    for path, data in files.items():
        storage.write(path, data)
    rack = min(managed.racks, key=lambda r: r[1])[0]  # the smallest rack: the others keep the cluster writable
    members = cluster.rack_members(managed, rack)
    t0 = time.monotonic()
    try:
        assert cluster.stop_rack(managed, rack) == members
        for path, data in files.items():  # at once: clients fail over to the replica on the other rack
            assert hashlib.sha256(storage.read(path)).digest() == hashlib.sha256(data).digest()
        wait_for(lambda: probes.replication_state(managed)["dead_datanodes"] >= len(members), 90, f"the NameNode to declare {rack} dead")
        dead_s = time.monotonic() - t0

        def restored() -> bool:
            blocks = [b for path in files for b in storage.blocks(path)["blocks"]]
            return all(len([h for h in b["hosts"] if h not in members]) >= managed.replication for b in blocks)

        # The NameNode re-replicates every block the rack held, not only this test's: allow for a full cluster.
        try:
            wait_for(restored, 300, "the NameNode to restore every block's replicas on the racks that remain")
        except AssertionError as exc:  # say where the blocks are and what the NameNode counts, to tell why
            hosts = {path: [b["hosts"] for b in storage.blocks(path)["blocks"]] for path in files}
            raise AssertionError(f"{exc}; stopped {members}; blocks {hosts}; {probes.replication_state(managed)}") from None
        print(f"\n{rack} stopped: declared dead after {dead_s:.1f} s, replication restored after {time.monotonic() - t0:.1f} s")
        for path, data in files.items():
            assert storage.read(path) == data
    finally:
        cluster.start_rack(managed, rack)
        cluster.wait_until_ready(managed, timeout_s=120)
    wait_for(lambda: probes.replication_state(managed)["live_datanodes"] == managed.datanodes, 60, "the rack to be live again")


def test_an_unknown_rack_is_named_with_the_racks_there_are(managed):
    with pytest.raises(ClusterError, match="There is no rack '/no-such-rack'; the racks are /rack-a"):
        cluster.stop_rack(managed, "/no-such-rack")
