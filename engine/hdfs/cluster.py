"""The local HDFS: one NameNode and N DataNodes, each a real JVM on loopback.

Daemons are started from the Hadoop jars fetched by Maven (``hadoop/pom.xml``)
or from ``$HADOOP_HOME``, one process per daemon so that stopping a DataNode is
stopping a real process. Their config, data, logs and pid files live under
``<run_dir>/hdfs``, so data survives a stop and a start. Readiness is probed
(WebHDFS answers, every DataNode is live, safe mode is off), never slept on.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable
from xml.sax.saxutils import escape

import psutil
import requests

from engine.errors import ClusterError, EnvironmentProblem
from engine.settings import Settings

logger = logging.getLogger(__name__)

NAMENODE_CLASS = "org.apache.hadoop.hdfs.server.namenode.NameNode"
DATANODE_CLASS = "org.apache.hadoop.hdfs.server.datanode.DataNode"

# Hadoop 3.4 reflects into JDK internals; Java 17 needs these opened.
JAVA_OPENS = [
    f"--add-opens=java.base/{pkg}=ALL-UNNAMED"
    for pkg in ("java.lang", "java.lang.reflect", "java.io", "java.net", "java.nio", "java.util",
                "java.util.concurrent", "sun.nio.ch", "sun.net.dns", "sun.net.util")
]

Progress = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Daemon:
    """One local HDFS daemon: its name, main class, and the ports it must own."""

    name: str
    main_class: str
    ports: dict[str, int]  # what -> port

    @property
    def is_datanode(self) -> bool:
        return self.main_class == DATANODE_CLASS


def datanode_ports(settings: Settings, index: int) -> dict[str, int]:
    base = settings.datanode_base_port + 10 * index
    return {"data": base, "http": base + 1, "ipc": base + 2}


def daemons(settings: Settings) -> list[Daemon]:
    """The daemons of the local cluster, NameNode first."""
    nn = Daemon("namenode", NAMENODE_CLASS, {"rpc": settings.namenode_rpc_port, "http": settings.namenode_http_port})
    dns = [Daemon(f"datanode{i}", DATANODE_CLASS, datanode_ports(settings, i)) for i in range(1, settings.datanodes + 1)]
    return [nn, *dns]


def datanode_names(settings: Settings) -> dict[str, str]:
    """Map a DataNode's transfer address ('127.0.0.1:9910') to its local name ('datanode1')."""
    return {f"127.0.0.1:{d.ports['data']}": d.name for d in daemons(settings) if d.is_datanode}


# --------------------------------------------------------------------------- config files
def _xml(props: dict[str, object]) -> str:
    rows = "\n".join(
        f"  <property><name>{escape(k)}</name><value>{escape(str(v))}</value></property>" for k, v in props.items()
    )
    return f'<?xml version="1.0"?>\n<configuration>\n{rows}\n</configuration>\n'


def _write_config(settings: Settings, daemon: Daemon) -> Path:
    """Write core-site.xml, hdfs-site.xml and log4j.properties for one daemon; return its conf dir."""
    host = settings.bind_host
    base = settings.hdfs_dir
    conf_dir = base / "conf" / daemon.name
    conf_dir.mkdir(parents=True, exist_ok=True)
    core = {
        "fs.defaultFS": f"hdfs://{host}:{settings.namenode_rpc_port}",
        "hadoop.tmp.dir": base / "tmp",
        "hadoop.http.staticuser.user": settings.hdfs_user,
        "hadoop.security.authentication": "simple",
    }
    hdfs = {
        "dfs.namenode.name.dir": f"file://{base / 'data' / 'namenode'}",
        "dfs.namenode.rpc-address": f"{host}:{settings.namenode_rpc_port}",
        "dfs.namenode.http-address": f"{host}:{settings.namenode_http_port}",
        "dfs.replication": settings.replication,
        "dfs.blocksize": settings.block_size,
        "dfs.namenode.fs-limits.min-block-size": 4096,
        "dfs.permissions.enabled": "false",
        "dfs.webhdfs.enabled": "true",
        # Leave safe mode as soon as the blocks are reported, not 30 s later.
        "dfs.namenode.safemode.extension": 0,
        # Fast heartbeats so a stopped DataNode is seen dead in ~20 s (demo, tests).
        "dfs.heartbeat.interval": 1,
        "dfs.namenode.heartbeat.recheck-interval": 5000,
        "dfs.namenode.stale.datanode.interval": 3000,
        "dfs.namenode.avoid.read.stale.datanode": "true",
        "dfs.namenode.avoid.write.stale.datanode": "true",
        "dfs.namenode.redundancy.interval.seconds": 2,
        # Re-replicate a lost DataNode's blocks in about a minute, not the default ~20 minutes.
        "dfs.namenode.replication.work.multiplier.per.iteration": 32,
        "dfs.namenode.replication.max-streams": 32,
        "dfs.namenode.replication.max-streams-hard-limit": 64,
        "dfs.namenode.datanode.registration.ip-hostname-check": "false",
        "dfs.namenode.handler.count": 10,
        "dfs.datanode.du.reserved": 0,
        "dfs.client.block.write.replace-datanode-on-failure.policy": "NEVER",
    }
    if daemon.is_datanode:
        p = daemon.ports
        hdfs.update({
            "dfs.datanode.data.dir": f"file://{base / 'data' / daemon.name}",
            "dfs.datanode.address": f"{host}:{p['data']}",
            "dfs.datanode.http.address": f"{host}:{p['http']}",
            "dfs.datanode.ipc.address": f"{host}:{p['ipc']}",
            "dfs.datanode.hostname": host,
            "dfs.datanode.handler.count": 4,
        })
    (conf_dir / "core-site.xml").write_text(_xml(core))
    (conf_dir / "hdfs-site.xml").write_text(_xml(hdfs))
    (conf_dir / "log4j.properties").write_text(
        "log4j.rootLogger=INFO,console\n"
        "log4j.appender.console=org.apache.log4j.ConsoleAppender\n"
        "log4j.appender.console.target=System.err\n"
        "log4j.appender.console.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n\n"
        "log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR\n"
    )
    return conf_dir


# --------------------------------------------------------------------------- environment checks
def java_binary() -> str:
    """Path of ``java``; raises EnvironmentProblem with the fix when it is missing."""
    java = shutil.which("java")
    if java is None:
        raise EnvironmentProblem("Java was not found on PATH; install Java 17 (e.g. `apt-get install openjdk-17-jre-headless`) and try again.")
    return java


def hadoop_classpath(settings: Settings) -> str:
    """The jar classpath for the daemons: $HADOOP_HOME's, else the Maven cache."""
    if settings.hadoop_home is not None:
        share = settings.hadoop_home / "share" / "hadoop"
        parts = [share / "common" / "*", share / "common" / "lib" / "*", share / "hdfs", share / "hdfs" / "*", share / "hdfs" / "lib" / "*"]
        return ":".join(str(p) for p in parts)
    lib = settings.hadoop_lib
    if not any(lib.glob("hadoop-hdfs-*.jar")):
        raise EnvironmentProblem(f"The Hadoop jars are missing from {lib}; run ./run.sh (it fetches them with Maven) or set HADOOP_HOME.")
    # webapps/ (the web UI and WebHDFS servlets' resources) lies unpacked beside the jars.
    return f"{lib.parent / 'resources'}:{lib}/*"


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------- processes
def _pid_file(settings: Settings, name: str) -> Path:
    return settings.hdfs_dir / "pids" / f"{name}.json"


def daemon_process(settings: Settings, name: str) -> psutil.Process | None:
    """The running process of daemon ``name``, or None (a stale pid file is removed)."""
    path = _pid_file(settings, name)
    try:
        record = json.loads(path.read_text())
        proc = psutil.Process(record["pid"])
        if abs(proc.create_time() - record["create_time"]) < 1.0 and proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
            return proc
    except (OSError, ValueError, KeyError, psutil.Error):
        pass
    path.unlink(missing_ok=True)
    return None


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    interesting = [line for line in text if " ERROR " in line or "Exception" in line or "FATAL" in line]
    return "\n".join((interesting or text)[-lines:])


def _spawn(settings: Settings, daemon: Daemon, args: list[str] | None = None, wait: bool = False) -> subprocess.Popen | None:
    conf_dir = _write_config(settings, daemon)
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
        "-cp", f"{conf_dir}:{hadoop_classpath(settings)}",
        daemon.main_class,
        *(args or []),
    ]
    log_path = log_dir / f"{daemon.name}.log"
    with open(log_path, "ab") as log:
        if wait:
            done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=180, check=False)
            if done.returncode != 0:
                raise ClusterError(f"Formatting the NameNode failed (exit {done.returncode}); see {log_path}:\n{_log_tail(log_path)}")
            return None
        # A new session: the daemon outlives this CLI process and ignores its Ctrl-C.
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    pid_path = _pid_file(settings, daemon.name)
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    pid_path.write_text(json.dumps({"pid": proc.pid, "create_time": psutil.Process(proc.pid).create_time(), "log": str(log_path)}))
    return proc


def _stop_process(proc: psutil.Process, timeout: float = 20.0) -> None:
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=timeout)
    except psutil.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    except psutil.NoSuchProcess:
        pass


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
        if not port_is_free(settings.bind_host, port):
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
    _stop_process(proc)
    _pid_file(settings, name).unlink(missing_ok=True)
    logger.info("stopped %s", name)
    return True


def _port_message(daemon: Daemon, what: str, port: int) -> str:
    variable = "MRI_DATANODE_BASE_PORT" if daemon.is_datanode else ("MRI_NAMENODE_RPC" if what == "rpc" else "MRI_NAMENODE_HTTP")
    return (f"Port {port} (the {daemon.name} {what} port) is already in use by another program; "
            f"stop that program or choose other ports with {variable}.")


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
    if any(d.name == "namenode" for d in todo) and _readiness(settings)[0]:
        raise EnvironmentProblem(
            f"A NameNode this folder did not start already answers at {settings.namenode_http} (another checkout?); "
            "stop it there with ./run.sh stop, or point MRI_NAMENODE_HTTP/MRI_NAMENODE_RPC at it with MRI_HDFS_MANAGED=no."
        )
    for daemon in todo:
        for what, port in daemon.ports.items():
            if not port_is_free(settings.bind_host, port):
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
                _stop_process(proc, timeout=10)
            _pid_file(settings, name).unlink(missing_ok=True)
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


# --------------------------------------------------------------------------- probes
def namenode_jmx(settings: Settings, bean: str) -> dict:
    """One MBean from the NameNode's /jmx servlet; raises requests errors."""
    resp = requests.get(f"{settings.namenode_http}/jmx", params={"qry": bean}, timeout=settings.hdfs_timeout_s)
    resp.raise_for_status()
    beans = resp.json().get("beans", [])
    if not beans:
        raise ClusterError(f"The NameNode at {settings.namenode_http} has no {bean} bean yet.")
    return beans[0]


def _readiness(settings: Settings) -> tuple[bool, str]:
    try:
        resp = requests.get(f"{settings.namenode_http}/webhdfs/v1/", params={"op": "GETFILESTATUS", "user.name": settings.hdfs_user},
                            timeout=5)
        if resp.status_code != 200:
            return False, f"WebHDFS answered {resp.status_code}"
        info = namenode_jmx(settings, "Hadoop:service=NameNode,name=NameNodeInfo")
        live = len(json.loads(info.get("LiveNodes") or "{}"))
        if live < settings.datanodes:
            return False, f"{live} of {settings.datanodes} DataNodes live"
        if info.get("Safemode"):
            return False, "NameNode in safe mode"
        return True, "ready"
    except (requests.RequestException, ValueError, ClusterError) as err:
        return False, f"NameNode not answering ({type(err).__name__})"


def wait_until_ready(settings: Settings, timeout_s: float) -> None:
    """Probe until WebHDFS answers, all DataNodes are live and safe mode is off.

    Raises ClusterError with the failing daemon's log when a daemon exits or
    the deadline passes.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.2
    while True:
        ok, why = _readiness(settings)
        if ok:
            return
        if settings.hdfs_managed:
            for daemon in daemons(settings):
                if daemon_process(settings, daemon.name) is None:
                    log = settings.hdfs_dir / "logs" / f"{daemon.name}.log"
                    raise ClusterError(f"The {daemon.name} exited during start-up; see {log}:\n{_log_tail(log)}")
        if time.monotonic() > deadline:
            log = settings.hdfs_dir / "logs" / "namenode.log"
            raise ClusterError(f"HDFS was not ready after {timeout_s:.0f} s ({why}); see {log}:\n{_log_tail(log)}")
        time.sleep(delay)  # poll interval of the probe, not a readiness guess
        delay = min(delay * 1.5, 2.0)


def cluster_status(settings: Settings) -> dict:
    """Live state of the NameNode and every DataNode it knows, from its JMX.

    Never raises for an unreachable NameNode: it reports ``live: False``.
    """
    names = datanode_names(settings) if settings.hdfs_managed else {}
    status: dict = {
        "namenode": {"url": settings.namenode_http, "rpc": settings.namenode_rpc, "live": False, "safemode": None},
        "datanodes": [],
        "managed": settings.hdfs_managed,
        "replication": settings.replication,
        "block_size": settings.block_size,
    }
    try:
        info = namenode_jmx(settings, "Hadoop:service=NameNode,name=NameNodeInfo")
        state = namenode_jmx(settings, "Hadoop:service=NameNode,name=FSNamesystemState")
    except (requests.RequestException, ValueError, ClusterError) as err:
        status["namenode"]["error"] = f"The NameNode at {settings.namenode_http} is not answering ({type(err).__name__})."
    else:
        status["namenode"].update({
            "live": True,
            "safemode": bool(info.get("Safemode")),
            "version": info.get("Version", "").split(",")[0],
            "capacity_bytes": info.get("Total"),
            "used_bytes": info.get("Used"),
            "free_bytes": info.get("Free"),
            "files_and_dirs": state.get("FilesTotal"),
            "blocks": state.get("BlocksTotal"),
            "under_replicated_blocks": state.get("UnderReplicatedBlocks"),
        })
        for live, key in ((True, "LiveNodes"), (False, "DeadNodes")):
            for node_name, node in json.loads(info.get(key) or "{}").items():
                xfer = node.get("xferaddr") or node_name.split(" ")[0]
                status["datanodes"].append({
                    "host": xfer,
                    "name": names.get(xfer, node_name),
                    "live": live,
                    "used_bytes": node.get("usedSpace"),
                    "capacity_bytes": node.get("capacity"),
                    "remaining_bytes": node.get("remaining"),
                    "blocks": node.get("numBlocks"),
                    "last_contact_s": node.get("lastContact"),
                    "admin_state": node.get("adminState"),
                })
    if settings.hdfs_managed:
        seen = {d["name"] for d in status["datanodes"]}
        processes = {}
        for daemon in daemons(settings):
            proc = daemon_process(settings, daemon.name)
            rss = None
            if proc is not None:
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    rss = None
            processes[daemon.name] = {"running": proc is not None, "pid": proc.pid if proc else None, "rss_bytes": rss}
            if daemon.is_datanode and daemon.name not in seen and status["namenode"]["live"]:
                # Started but not registered yet, or never known to this NameNode.
                status["datanodes"].append({"host": f"127.0.0.1:{daemon.ports['data']}", "name": daemon.name, "live": False,
                                            "used_bytes": None, "capacity_bytes": None, "remaining_bytes": None, "blocks": None})
        status["processes"] = processes
    status["datanodes"].sort(key=lambda d: d["name"])
    return status


def is_ready(settings: Settings) -> bool:
    return _readiness(settings)[0]


def fsck(settings: Settings, hdfs_path: str = "/") -> dict:
    """Health of a path from the NameNode's /fsck servlet: under-replicated, missing and corrupt blocks."""
    import re

    resp = requests.get(f"{settings.namenode_http}/fsck", params={"ugi": settings.hdfs_user, "path": hdfs_path},
                        timeout=max(settings.hdfs_timeout_s, 60))
    resp.raise_for_status()
    text = resp.text

    def number(label: str) -> int:
        found = re.search(rf"{label}:\s+(\d+)", text)
        return int(found.group(1)) if found else 0

    status = re.search(r"The filesystem under path '.*' is (\w+)", text)
    return {
        "path": hdfs_path,
        "healthy": bool(status and status.group(1) == "HEALTHY"),
        "status": status.group(1) if status else "UNKNOWN",
        "files": number("Total files"),
        "directories": number("Total dirs"),
        "blocks": number(r"Total blocks \(validated\)"),
        "under_replicated": number("Under-replicated blocks"),
        "mis_replicated": number("Mis-replicated blocks"),
        "missing": number("Missing blocks"),
        "corrupt": number("Corrupt blocks"),
        "default_replication": number("Default replication factor"),
        "average_replication": float(m.group(1)) if (m := re.search(r"Average block replication:\s+([\d.]+)", text)) else None,
    }


def replication_state(settings: Settings) -> dict:
    """Live replication counters from the NameNode's JMX (cheap enough to poll every second)."""
    state = namenode_jmx(settings, "Hadoop:service=NameNode,name=FSNamesystem")
    return {
        "under_replicated": state.get("UnderReplicatedBlocks", 0),
        "pending_replication": state.get("PendingReplicationBlocks", 0),
        "excess": state.get("ExcessBlocks", 0),
        "missing": state.get("MissingBlocks", 0),
        "corrupt": state.get("CorruptBlocks", 0),
        "live_datanodes": state.get("NumLiveDataNodes"),
        "dead_datanodes": state.get("NumDeadDataNodes"),
        "blocks": state.get("BlocksTotal"),
        "files": state.get("FilesTotal"),
    }
