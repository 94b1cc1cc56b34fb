"""Start-up faults get one sentence with the fix and leave no half-started daemons."""

import socket
import subprocess
import sys

import pytest

from engine.errors import EnvironmentProblem
from engine.hdfs import cluster, daemons
from engine.settings import REPO_ROOT, load_settings
from tests.conftest import free_port


def isolated_env(tmp_path, **extra):
    """Settings for a second cluster on other ports, so the shared one is untouched."""
    env = {
        "MRI_RUN_DIR": str(tmp_path),
        "MRI_NAMENODE_HTTP": f"http://127.0.0.1:{free_port()}",
        "MRI_NAMENODE_RPC": f"hdfs://127.0.0.1:{free_port()}",
        "MRI_DATANODE_BASE_PORT": "31900",
        "MRI_DATANODES": "1",
        "MRI_REPLICATION": "1",
    }
    env.update(extra)
    return env


def test_port_taken_is_named_and_nothing_is_left_running(tmp_path):
    env = isolated_env(tmp_path)
    settings = load_settings(env)
    with socket.socket() as blocker:
        blocker.bind((daemons.daemons(settings)[1].host, settings.datanode_base_port + 10))  # datanode1's data port, on its address
        blocker.listen()
        with pytest.raises(EnvironmentProblem, match=r"Port 31910 .*datanode1.*MRI_DATANODE_BASE_PORT"):
            cluster.cluster_up(settings)
    assert all(daemons.daemon_process(settings, d.name) is None for d in daemons.daemons(settings))


def test_java_missing_is_one_sentence_exit_1(tmp_path):
    env = {**isolated_env(tmp_path), "PATH": str(tmp_path)}  # an empty PATH: no java
    done = subprocess.run([sys.executable, "-m", "engine", "cluster", "up"], capture_output=True, text=True, timeout=60, env=env, cwd=REPO_ROOT)
    assert done.returncode == 1
    assert "Java was not found" in done.stderr and "Traceback" not in done.stderr


def test_start_failure_stops_what_it_started(tmp_path):
    # A NameNode whose name dir is a file cannot format: the start must fail cleanly.
    env = isolated_env(tmp_path)
    settings = load_settings(env)
    (settings.hdfs_dir / "data").mkdir(parents=True)
    (settings.hdfs_dir / "data" / "namenode").write_text("not a folder")
    with pytest.raises(Exception) as info:
        cluster.cluster_up(settings)
    assert "NameNode" in str(info.value) or "namenode" in str(info.value)
    assert all(daemons.daemon_process(settings, d.name) is None for d in daemons.daemons(settings))


def test_second_cluster_up_is_a_no_op(hdfs_cluster):
    result = cluster.cluster_up(hdfs_cluster)
    assert result["started"] == []
    assert len(result["already_running"]) == hdfs_cluster.datanodes + 1
