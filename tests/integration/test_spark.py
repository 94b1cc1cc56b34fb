"""Spark local[2] reads what WebHDFS wrote and writes Parquet back to HDFS, with the venv's Python on workers."""

import sys

from engine.spark.session import hdfs_uri, spark_conf


def test_conf_uses_the_venv_python_and_loopback(settings):
    conf = spark_conf(settings, "t", "local[2]")
    assert conf["spark.pyspark.python"] == sys.executable
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert conf["spark.hadoop.fs.defaultFS"] == settings.namenode_rpc


def test_spark_reads_a_file_written_through_webhdfs(spark, storage, hdfs_root, settings):
    storage.write(f"{hdfs_root}/lines.txt", b"glioma\nmeningioma\nnotumor\npituitary\n")
    lines = spark.sparkContext.textFile(hdfs_uri(settings, f"{hdfs_root}/lines.txt")).collect()
    assert lines == ["glioma", "meningioma", "notumor", "pituitary"]


def test_spark_writes_parquet_with_the_cluster_replication(spark, storage, hdfs_root, settings):
    spark.range(1000).repartition(2).write.parquet(hdfs_uri(settings, f"{hdfs_root}/numbers"))
    parts = [e for e in storage.list(f"{hdfs_root}/numbers") if e["name"].endswith(".parquet")]
    assert len(parts) == 2 and all(p["replication"] == settings.replication for p in parts)
    assert spark.read.parquet(f"{hdfs_root}/numbers").count() == 1000


def test_python_workers_run_the_venv_interpreter(spark):
    executables = spark.sparkContext.parallelize(range(4), 2).map(lambda _: __import__("sys").executable).collect()
    assert set(executables) == {sys.executable}
