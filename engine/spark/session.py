"""The SparkSession factory: any master URL, the venv's Python on workers, hdfs:// of our cluster."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator

from engine.errors import SparkJobError
from engine.settings import Settings, is_loopback

logger = logging.getLogger(__name__)


LOCAL_TASK_ATTEMPTS = 4  # as on a cluster (spark.task.maxFailures): a task whose Python worker dies is retried


def _is_local(master: str) -> bool:
    return master.startswith("local")


def with_task_retries(master: str) -> str:
    """``local[K]`` -> ``local[K,4]``: local mode ignores spark.task.maxFailures and would fail on the first lost task."""
    m = re.fullmatch(r"local(?:\[(\d+|\*)\])?", master)
    return f"local[{m.group(1) or 1},{LOCAL_TASK_ATTEMPTS}]" if m else master


def spark_conf(settings: Settings, app_name: str, master: str | None = None) -> dict[str, str]:
    """The Spark properties the engine sets; pure, so tests can check it."""
    master = with_task_retries(master or settings.spark_master)
    conf = {
        "spark.master": master,
        "spark.app.name": app_name,
        "spark.hadoop.fs.defaultFS": settings.namenode_rpc,
        # The client, not the NameNode, picks replication and block size of what it writes.
        "spark.hadoop.dfs.replication": str(settings.replication),
        "spark.hadoop.dfs.blocksize": str(settings.block_size),
        "spark.hadoop.dfs.client.use.datanode.hostname": "true",  # a DataNode's own address (hosts and racks)
        "spark.pyspark.python": str(settings.python),
        "spark.pyspark.driver.python": str(settings.python),
        "spark.executorEnv.PYSPARK_PYTHON": str(settings.python),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "8",
        "spark.driver.memory": "2g",
        "spark.local.dir": str(settings.run_dir / "spark-tmp"),
    }
    if _is_local(master) or is_loopback(settings.bind_host):
        conf["spark.driver.host"] = settings.bind_host
        conf["spark.driver.bindAddress"] = settings.bind_host
    return conf


def create_session(settings: Settings, app_name: str = "mri", master: str | None = None):
    """Start (or reuse) a SparkSession configured by :func:`spark_conf`.

    Raises:
        SparkJobError: Java is missing or the session could not start.
    """
    from pyspark.sql import SparkSession  # heavy import, deferred to first use

    conf = spark_conf(settings, app_name, master)
    # Python workers and the driver's JVM read these from the environment, not the conf.
    os.environ["PYSPARK_PYTHON"] = str(settings.python)
    os.environ["PYSPARK_DRIVER_PYTHON"] = str(settings.python)
    # Always, not only for local masters: the Spark UI (which can kill jobs) and Elephas' parameter server
    # bind to SPARK_LOCAL_IP, and without it to every interface.
    os.environ["SPARK_LOCAL_IP"] = settings.bind_host
    (settings.run_dir / "spark-tmp").mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as err:  # py4j/JVM start errors have no common type
        raise SparkJobError(
            f"Spark could not start with master {conf['spark.master']!r}: {str(err).splitlines()[0]}; "
            "check that Java 17 is installed and the master URL is right."
        ) from err
    spark.sparkContext.setLogLevel("WARN")
    logger.info("Spark session %s on %s (UI %s)", app_name, conf["spark.master"], spark.sparkContext.uiWebUrl)
    return spark


@contextlib.contextmanager
def spark_session(settings: Settings, app_name: str = "mri", master: str | None = None) -> Iterator:
    """A SparkSession that is stopped on exit — unless it was already running (then its owner stops it)."""
    from pyspark.sql import SparkSession

    existing = SparkSession.getActiveSession()
    if existing is not None and existing.sparkContext.master != with_task_retries(master or settings.spark_master):
        existing.stop()  # a session on another master cannot be reused for this one
        existing = None
    spark = create_session(settings, app_name, master)
    try:
        yield spark
    finally:
        if existing is None:
            spark.stop()


def hdfs_uri(settings: Settings, hdfs_path: str) -> str:
    """Full ``hdfs://host:port/path`` URI for a path of the configured cluster."""
    return settings.namenode_rpc.rstrip("/") + "/" + hdfs_path.lstrip("/")
