"""Settings: defaults, derived values, and a clear message naming each bad variable."""

import pytest

from engine.errors import ConfigError
from engine.settings import load_settings


def test_defaults_point_at_a_local_managed_cluster(tmp_path):
    s = load_settings({"MRI_RUN_DIR": str(tmp_path)})
    assert s.run_dir == tmp_path.resolve()
    assert s.namenode_http == "http://127.0.0.1:9870"
    assert s.hdfs_managed is True
    assert (s.datanodes, s.replication) == (3, 2)
    assert s.spark_master == "local[*]"
    assert s.jobs_dir == tmp_path.resolve() / "jobs"


def test_remote_namenode_is_not_managed():
    s = load_settings({"MRI_NAMENODE_HTTP": "http://namenode.example:9870", "MRI_NAMENODE_RPC": "hdfs://namenode.example:8020"})
    assert s.hdfs_managed is False
    assert s.namenode_rpc_port == 8020


def test_managed_can_be_forced_off_for_a_loopback_cluster():
    assert load_settings({"MRI_HDFS_MANAGED": "no"}).hdfs_managed is False


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"MRI_DATANODES": "three"}, "MRI_DATANODES"),
        ({"MRI_DATANODES": "0"}, "MRI_DATANODES"),
        ({"MRI_DASHBOARD_PORT": "70000"}, "MRI_DASHBOARD_PORT"),
        ({"MRI_NAMENODE_HTTP": "localhost:9870"}, "MRI_NAMENODE_HTTP"),
        ({"MRI_NAMENODE_RPC": "http://127.0.0.1:9000"}, "MRI_NAMENODE_RPC"),
        ({"MRI_NAMENODE_HTTP": "http://127.0.0.1:port"}, "MRI_NAMENODE_HTTP"),
        ({"MRI_SPARK_MASTER": "bogus"}, "MRI_SPARK_MASTER"),
        ({"MRI_BLOCK_SIZE": "1000000"}, "MRI_BLOCK_SIZE"),
        ({"MRI_REPLICATION": "4"}, "MRI_REPLICATION"),
        ({"MRI_HDFS_MANAGED": "maybe"}, "MRI_HDFS_MANAGED"),
        ({"MRI_BIND_HOST": "not-an-ip"}, "MRI_BIND_HOST"),
        ({"MRI_HDFS_USER": "a b"}, "MRI_HDFS_USER"),
        ({"MRI_HDFS_TIMEOUT": "soon"}, "MRI_HDFS_TIMEOUT"),
        ({"MRI_HDFS_ROOT": "relative"}, "MRI_HDFS_ROOT"),
        ({"MRI_HDFS_ROOT": "/"}, "MRI_HDFS_ROOT"),
        ({"MRI_HDFS_ROOT": "/mri/../etc"}, "MRI_HDFS_ROOT"),
        ({"MRI_HDFS_ROOT": "/a b"}, "MRI_HDFS_ROOT"),
        ({"MRI_ALLOW_REMOTE_ACCESS": "perhaps"}, "MRI_ALLOW_REMOTE_ACCESS"),
    ],
)
def test_bad_value_is_named(env, variable):
    with pytest.raises(ConfigError, match=variable):
        load_settings(env)


@pytest.mark.parametrize("master", ["local", "local[2]", "local[*]", "spark://10.0.0.1:7077", "yarn", "k8s://https://k:6443"])
def test_spark_masters_accepted(master):
    assert load_settings({"MRI_SPARK_MASTER": master}).spark_master == master


def test_hadoop_home_without_jars_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="HADOOP_HOME"):
        load_settings({"HADOOP_HOME": str(tmp_path)})


@pytest.mark.parametrize(
    "master, expected",
    [("local", "local[1,4]"), ("local[2]", "local[2,4]"), ("local[*]", "local[*,4]"), ("local[2,3]", "local[2,3]"), ("spark://h:7077", "spark://h:7077")],
)
def test_local_masters_retry_lost_tasks(master, expected):
    from engine.spark.session import with_task_retries

    assert with_task_retries(master) == expected


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_a_non_loopback_bind_host_is_refused_unless_remote_access_is_allowed(host):
    with pytest.raises(ConfigError, match="without authentication") as err:
        load_settings({"MRI_BIND_HOST": host})
    assert "MRI_ALLOW_REMOTE_ACCESS=1" in str(err.value) and "\n" not in str(err.value)
    s = load_settings({"MRI_BIND_HOST": host, "MRI_ALLOW_REMOTE_ACCESS": "1"})
    assert s.bind_host == host and s.allow_remote_access


def test_the_cli_refuses_a_public_bind_host_with_exit_2():
    import os
    import subprocess
    import sys

    env = {**os.environ, "MRI_BIND_HOST": "0.0.0.0"}
    env.pop("MRI_ALLOW_REMOTE_ACCESS", None)
    out = subprocess.run([sys.executable, "-m", "engine", "settings"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2 and out.stderr.count("error:") == 1 and "Traceback" not in out.stderr


def test_hdfs_root_and_daemon_folder_are_settings(tmp_path):
    s = load_settings({"MRI_RUN_DIR": str(tmp_path), "MRI_HDFS_ROOT": "/team/mri/"})
    assert s.hdfs_root == "/team/mri" and s.hdfs_path("datasets", "x") == "/team/mri/datasets/x"
    assert s.hdfs_dir == tmp_path.resolve() / "hdfs"
    assert load_settings({"MRI_HDFS_DIR": str(tmp_path / "d")}).hdfs_dir == (tmp_path / "d").resolve()
    assert load_settings({}).hdfs_root == "/mri"


def test_spark_binds_to_the_bind_host_for_any_master():
    from engine.spark import session as spark

    conf = spark.spark_conf(load_settings({}), "t", "spark://10.0.0.1:7077")
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"


def test_racks_default_and_validation():
    assert load_settings({}).racks == (("/rack-a", 2), ("/rack-b", 1))
    assert load_settings({"MRI_DATANODES": "2"}).racks == (("/rack-a", 1), ("/rack-b", 1))
    assert load_settings({"MRI_RACKS": "/r1:1,/r2:2"}).racks == (("/r1", 1), ("/r2", 2))
    for bad, says in (("/r1:1", "places 1 DataNodes"), ("rack:3", "must look like /rack-a:2"), ("/a:2,/a:1", "names a rack twice")):
        with pytest.raises(ConfigError, match=says):
            load_settings({"MRI_RACKS": bad})
