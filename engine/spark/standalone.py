"""A Spark standalone cluster on loopback (a master and K one-core workers), started with pyspark's own
``spark-class`` launcher, so students see executors as separate processes in the Spark UI.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pyspark
import requests

from engine.errors import ClusterError, EnvironmentProblem
from engine.hdfs.daemons import daemons
from engine.processes import port_is_free, record_process, recorded_process, stop_process, wait_until
from engine.settings import REPO_ROOT, Settings

logger = logging.getLogger(__name__)

MASTER_PORT, MASTER_UI_PORT = 7077, 8080


def _spark_class() -> str:
    return str(Path(pyspark.__file__).parent / "bin" / "spark-class")


def _folder(settings: Settings) -> Path:
    path = settings.run_dir / "spark-standalone"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _spawn(settings: Settings, name: str, args: list[str], host: str | None = None) -> None:
    folder = _folder(settings)
    env = {
        "SPARK_LOCAL_IP": host or settings.bind_host,
        "PYSPARK_PYTHON": str(settings.python),
        "SPARK_WORKER_DIR": str(folder / "work"),
        "SPARK_LOG_DIR": str(folder),
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    with open(folder / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(
            [_spark_class(), *args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env, cwd=REPO_ROOT
        )
    record_process(folder / f"{name}.pid", proc.pid)


def status(settings: Settings, ui_port: int = MASTER_UI_PORT) -> dict:
    """The master's view (from its JSON endpoint): URL, alive workers and their cores; never raises."""
    try:
        data = requests.get(f"http://{settings.bind_host}:{ui_port}/json/", timeout=3).json()
    except (requests.RequestException, ValueError):
        return {"running": False}
    return {
        "running": True,
        "url": data.get("url"),
        "ui": f"http://{settings.bind_host}:{ui_port}",
        "alive_workers": data.get("aliveworkers", 0),
        "cores": data.get("cores", 0),
        "workers": [{"id": w["id"], "host": w["host"], "cores": w["cores"], "state": w["state"]} for w in data.get("workers", [])],
    }


def start(settings: Settings, workers: int = 2, port: int = MASTER_PORT, ui_port: int = MASTER_UI_PORT, timeout_s: float = 90) -> dict:
    """Start a master and ``workers`` one-core workers unless running; wait until every worker is registered."""
    current = status(settings, ui_port)
    if current["running"] and current["alive_workers"] >= workers:
        return current
    for p, what in ((port, "master"), (ui_port, "master web UI")):
        if not port_is_free(settings.bind_host, p):
            raise EnvironmentProblem(f"Port {p} (the Spark {what}) is in use; stop that program first.")
    master = f"spark://{settings.bind_host}:{port}"
    try:
        _spawn(settings, "master", ["org.apache.spark.deploy.master.Master", "--host", settings.bind_host, "--port", str(port), "--webui-port", str(ui_port)])
        for i, host in enumerate(worker_hosts(settings, workers)):
            args = ["org.apache.spark.deploy.worker.Worker", master, "--cores", "1", "--memory", "2g", "--host", host, "--webui-port", "0"]
            _spawn(settings, f"worker{i + 1}", args, host)

        def ready() -> bool:
            current = status(settings, ui_port)
            return current["running"] and current["alive_workers"] >= workers

        if not wait_until(ready, timeout_s, interval_s=0.3):
            raise ClusterError(f"The Spark standalone cluster was not ready after {timeout_s:.0f} s; see {_folder(settings)}/*.log.")
        return status(settings, ui_port)
    except BaseException:
        stop(settings)
        raise


def worker_hosts(settings: Settings, workers: int) -> list[str]:
    """Where the workers run: beside the local DataNodes (worker i on DataNode i's address, round the DataNodes
    again when there are more workers), so a task can read a replica on its own host: NODE_LOCAL."""
    if not settings.hdfs_managed:
        return [settings.bind_host] * workers
    hosts = [d.host for d in daemons(settings) if d.is_datanode]
    return [hosts[i % len(hosts)] for i in range(workers)]


def stop(settings: Settings) -> list[str]:
    stopped = []
    for pid_file in sorted(_folder(settings).glob("*.pid")):
        proc = recorded_process(pid_file)
        if proc is not None:
            try:
                for child in proc.children(recursive=True):  # the workers' executors
                    child.send_signal(signal.SIGTERM)
            except psutil.Error:
                pass
            stop_process(proc)
            stopped.append(pid_file.stem)
        pid_file.unlink(missing_ok=True)
    return stopped


@contextlib.contextmanager
def standalone_cluster(settings: Settings, workers: int = 2, port: int = MASTER_PORT, ui_port: int = MASTER_UI_PORT) -> Iterator[str]:
    """A running cluster for the block; yields its master URL and stops it afterwards."""
    info = start(settings, workers, port, ui_port)
    try:
        yield info["url"]
    finally:
        stop(settings)
