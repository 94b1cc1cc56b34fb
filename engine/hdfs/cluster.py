"""The local HDFS: one NameNode and N DataNodes, each a real JVM on loopback.

Daemons are started from the Hadoop jars fetched by Maven (``hadoop/pom.xml``)
or from ``$HADOOP_HOME``, one process per daemon so that stopping a DataNode is
stopping a real process. Their config, data, logs and pid files live under
``<run_dir>/hdfs``, so data survives a stop and a start. Readiness is probed
(WebHDFS answers, every DataNode is live, safe mode is off), never slept on.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable

from engine.errors import ClusterError, EnvironmentProblem
from engine.hdfs.daemons import JAVA_OPENS, Daemon, daemon_process, daemons, hadoop_classpath, java_binary, log_tail, pid_file, write_config
from engine.hdfs.probes import readiness
from engine.processes import port_is_free, record_process, stop_process
from engine.settings import Settings

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


def _spawn(settings: Settings, daemon: Daemon, args: list[str] | None = None, wait: bool = False) -> subprocess.Popen | None:
    conf_dir = write_config(settings, daemon)
    log_dir = settings.hdfs_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        java_binary(),
        f"-Xmx{settings.hdfs_heap_mb}m",
        "-XX:+UseSerialGC",  # fewer threads and less RSS on a 2-core machine
        "-Djava.net.preferIPv4Stack=true",
        f"-Dhadoop.log.dir={log_dir}",
        f"-Dhadoop.home.dir={settings.hdfs_dir}",
        f"-Dproc_{daemon.name}",
        *JAVA_OPENS,
        "-cp",
        f"{conf_dir}:{hadoop_classpath(settings)}",
        daemon.main_class,
        *(args or []),
    ]
    log_path = log_dir / f"{daemon.name}.log"
    with open(log_path, "ab") as log:
        if wait:
            done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=180, check=False)
            if done.returncode != 0:
                raise ClusterError(f"Formatting the NameNode failed (exit {done.returncode}); see {log_path}:\n{log_tail(log_path)}")
            return None
        # A new session: the daemon outlives this CLI process and ignores its Ctrl-C.
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    record_process(pid_file(settings, daemon.name), proc.pid, log=str(log_path))
    return proc


def _require_managed(settings: Settings) -> None:
    if not settings.hdfs_managed:
        raise ClusterError(
            f"The NameNode {settings.namenode_http} is not a local cluster this engine manages; "
            "start or stop it where it runs, or unset MRI_NAMENODE_HTTP to use the local one."
        )


def start_daemon(settings: Settings, name: str) -> bool:
    """Start one daemon by name unless it runs; True if it was started."""
    _require_managed(settings)
    daemon = next((d for d in daemons(settings) if d.name == name), None)
    if daemon is None:
        raise ClusterError(f"There is no daemon named {name!r}; choose one of {[d.name for d in daemons(settings)]}.")
    if daemon_process(settings, name) is not None:
        return False
    for what, port in daemon.ports.items():
        if not port_is_free(daemon.host, port):
            raise EnvironmentProblem(_port_message(daemon, what, port))
    _spawn(settings, daemon)
    logger.info("started %s", name)
    return True


def stop_daemon(settings: Settings, name: str) -> bool:
    """Stop one daemon by name; True if it was running."""
    _require_managed(settings)
    proc = daemon_process(settings, name)
    if proc is None:
        return False
    stop_process(proc)
    pid_file(settings, name).unlink(missing_ok=True)
    logger.info("stopped %s", name)
    return True


def rack_members(settings: Settings, rack: str) -> list[str]:
    """The local DataNodes on ``rack``; an unknown rack is a clear error naming the racks there are."""
    members = [d.name for d in daemons(settings) if d.is_datanode and d.rack == rack]
    if not members:
        racks = sorted({d.rack for d in daemons(settings) if d.is_datanode and d.rack})
        raise ClusterError(f"There is no rack {rack!r}; the racks are {', '.join(racks)} (MRI_RACKS).")
    return members


def stop_rack(settings: Settings, rack: str) -> list[str]:
    """Stop every DataNode on ``rack`` (a rack losing power); refused when no DataNode would be left running."""
    members = rack_members(settings, rack)
    others = [d.name for d in daemons(settings) if d.is_datanode and d.name not in members and daemon_process(settings, d.name)]
    if not others:
        raise ClusterError(f"Stopping {rack} would leave no DataNode running, so no block could be read; start another rack first.")
    return [name for name in members if stop_daemon(settings, name)]


def start_rack(settings: Settings, rack: str) -> list[str]:
    return [name for name in rack_members(settings, rack) if start_daemon(settings, name)]


def _port_message(daemon: Daemon, what: str, port: int) -> str:
    variable = "MRI_DATANODE_BASE_PORT" if daemon.is_datanode else ("MRI_NAMENODE_RPC" if what == "rpc" else "MRI_NAMENODE_HTTP")
    return f"Port {port} (the {daemon.name} {what} port) is already in use by another program; stop that program or choose other ports with {variable}."


def cluster_up(settings: Settings, on_progress: Progress | None = None) -> dict:
    """Start the local NameNode and DataNodes (those not running) and wait until ready.

    Formats the NameNode on first use only, so data survives restarts. If
    anything fails, every daemon started by this call is stopped again.

    Returns:
        ``{"started": [...], "already_running": [...], "seconds": float}``.
    Raises:
        EnvironmentProblem: Java or the jars are missing, or a port is taken.
        ClusterError: a daemon died or the cluster was not ready in time.
    """
    _require_managed(settings)
    say = on_progress or (lambda _msg: None)
    t0 = time.monotonic()
    java_binary()
    hadoop_classpath(settings)
    todo = [d for d in daemons(settings) if daemon_process(settings, d.name) is None]
    already = [d.name for d in daemons(settings) if d not in todo]
    if any(d.name == "namenode" for d in todo) and readiness(settings)[0]:
        raise EnvironmentProblem(
            f"A NameNode this folder did not start already answers at {settings.namenode_http} (another checkout?); "
            "stop it there with ./run.sh stop, or point MRI_NAMENODE_HTTP/MRI_NAMENODE_RPC at it with MRI_HDFS_MANAGED=no."
        )
    for daemon in todo:
        for what, port in daemon.ports.items():
            if not port_is_free(daemon.host, port):
                raise EnvironmentProblem(_port_message(daemon, what, port))
    started: list[str] = []
    try:
        name_dir = settings.hdfs_dir / "data" / "namenode"
        if any(d.name == "namenode" for d in todo) and not (name_dir / "current" / "VERSION").exists():
            say("Formatting a new NameNode (first start only)")
            _spawn(settings, daemons(settings)[0], ["-format", "-nonInteractive", "-force", "-clusterid", "mri-local"], wait=True)
        for daemon in todo:
            say(f"Starting {daemon.name}")
            _spawn(settings, daemon)
            started.append(daemon.name)
        say(f"Waiting for the NameNode and {settings.datanodes} DataNodes to be ready")
        wait_until_ready(settings, timeout_s=settings.hdfs_start_timeout_s)
    except BaseException:
        for name in reversed(started):
            proc = daemon_process(settings, name)
            if proc is not None:
                stop_process(proc, timeout=10)
            pid_file(settings, name).unlink(missing_ok=True)
        raise
    seconds = round(time.monotonic() - t0, 2)
    logger.info("local HDFS ready in %.1f s (started %s)", seconds, started)
    return {"started": started, "already_running": already, "seconds": seconds}


def cluster_down(settings: Settings, on_progress: Progress | None = None) -> dict:
    """Stop every local daemon that runs (DataNodes first). Data stays on disk."""
    _require_managed(settings)
    say = on_progress or (lambda _msg: None)
    stopped = []
    for daemon in reversed(daemons(settings)):
        if daemon_process(settings, daemon.name) is not None:
            say(f"Stopping {daemon.name}")
            stop_daemon(settings, daemon.name)
            stopped.append(daemon.name)
    return {"stopped": stopped}


def wait_until_ready(settings: Settings, timeout_s: float) -> None:
    """Probe until WebHDFS answers, all DataNodes are live and safe mode is off.

    Raises ClusterError with the failing daemon's log when a daemon exits or
    the deadline passes.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.2
    while True:
        ok, why = readiness(settings)
        if ok:
            return
        if settings.hdfs_managed:
            for daemon in daemons(settings):
                if daemon_process(settings, daemon.name) is None:
                    log = settings.hdfs_dir / "logs" / f"{daemon.name}.log"
                    raise ClusterError(f"The {daemon.name} exited during start-up; see {log}:\n{log_tail(log)}")
        if time.monotonic() > deadline:
            log = settings.hdfs_dir / "logs" / "namenode.log"
            raise ClusterError(f"HDFS was not ready after {timeout_s:.0f} s ({why}); see {log}:\n{log_tail(log)}")
        time.sleep(delay)  # poll interval of the probe, not a readiness guess
        delay = min(delay * 1.5, 2.0)
