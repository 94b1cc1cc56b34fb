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


@pytest.mark.parametrize("env, variable", [
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
])
def test_bad_value_is_named(env, variable):
    with pytest.raises(ConfigError, match=variable):
        load_settings(env)


@pytest.mark.parametrize("master", ["local", "local[2]", "local[*]", "spark://10.0.0.1:7077", "yarn", "k8s://https://k:6443"])
def test_spark_masters_accepted(master):
    assert load_settings({"MRI_SPARK_MASTER": master}).spark_master == master


def test_hadoop_home_without_jars_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="HADOOP_HOME"):
        load_settings({"HADOOP_HOME": str(tmp_path)})


@pytest.mark.parametrize("master, expected", [("local", "local[1,4]"), ("local[2]", "local[2,4]"), ("local[*]", "local[*,4]"),
                                              ("local[2,3]", "local[2,3]"), ("spark://h:7077", "spark://h:7077")])
def test_local_masters_retry_lost_tasks(master, expected):
    from engine.spark import with_task_retries

    assert with_task_retries(master) == expected
