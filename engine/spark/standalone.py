"""A Spark standalone cluster on loopback (a master and K one-core workers), started with pyspark's own
``spark-class`` launcher, so students see executors as separate processes in the Spark UI.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator

import psutil
import requests

import pyspark

from engine.hdfs.cluster import port_is_free
from engine.errors import ClusterError, EnvironmentProblem
from engine.settings import REPO_ROOT, Settings

logger = logging.getLogger(__name__)

MASTER_PORT, MASTER_UI_PORT = 7077, 8080


def _spark_class() -> str:
    return str(Path(pyspark.__file__).parent / "bin" / "spark-class")


def _folder(settings: Settings) -> Path:
    path = settings.run_dir / "spark-standalone"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _spawn(settings: Settings, name: str, args: list[str]) -> None:
    folder = _folder(settings)
    env = {"SPARK_LOCAL_IP": settings.bind_host, "PYSPARK_PYTHON": str(settings.python), "PYTHONPATH": str(REPO_ROOT),
           "SPARK_WORKER_DIR": str(folder / "work"), "SPARK_LOG_DIR": str(folder), "PATH": "/usr/bin:/bin:/usr/local/bin",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(folder / f"{name}.log", "ab") as log:
        proc = subprocess.Popen([_spark_class(), *args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env, cwd=REPO_ROOT)
    (folder / f"{name}.pid").write_text(json.dumps({"pid": proc.pid, "create_time": psutil.Process(proc.pid).create_time()}))


def status(settings: Settings, ui_port: int = MASTER_UI_PORT) -> dict:
    """The master's view (from its JSON endpoint): URL, alive workers and their cores; never raises."""
    try:
        data = requests.get(f"http://{settings.bind_host}:{ui_port}/json/", timeout=3).json()
    except (requests.RequestException, ValueError):
        return {"running": False}
    return {"running": True, "url": data.get("url"), "ui": f"http://{settings.bind_host}:{ui_port}",
            "alive_workers": data.get("aliveworkers", 0), "cores": data.get("cores", 0),
            "workers": [{"id": w["id"], "host": w["host"], "cores": w["cores"], "state": w["state"]} for w in data.get("workers", [])]}


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
        _spawn(settings, "master", ["org.apache.spark.deploy.master.Master", "--host", settings.bind_host, "--port", str(port),
                                    "--webui-port", str(ui_port)])
        for i in range(workers):
            _spawn(settings, f"worker{i + 1}", ["org.apache.spark.deploy.worker.Worker", master, "--cores", "1", "--memory", "2g",
                                                "--host", settings.bind_host, "--webui-port", "0"])
        deadline = time.monotonic() + timeout_s
        while True:
            current = status(settings, ui_port)
            if current["running"] and current["alive_workers"] >= workers:
                return current
            if time.monotonic() > deadline:
                raise ClusterError(f"The Spark standalone cluster was not ready after {timeout_s:.0f} s; see {_folder(settings)}/*.log.")
            time.sleep(0.3)  # probe interval
    except BaseException:
        stop(settings)
        raise


def stop(settings: Settings) -> list[str]:
    stopped = []
    for pid_file in sorted(_folder(settings).glob("*.pid")):
        try:
            record = json.loads(pid_file.read_text())
            proc = psutil.Process(record["pid"])
            if abs(proc.create_time() - record["create_time"]) < 1:
                for child in proc.children(recursive=True):
                    child.send_signal(signal.SIGTERM)
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)
                stopped.append(pid_file.stem)
        except (OSError, ValueError, psutil.Error):
            pass
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
