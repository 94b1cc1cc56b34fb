"""The local HDFS daemons as data: which daemons, their ports, their generated site configuration, the Java
command that runs them, and the pid files that find them again after a restart."""

from __future__ import annotations

import dataclasses
import functools
import shutil
import socket
from pathlib import Path
from xml.sax.saxutils import escape

import psutil

from engine.errors import EnvironmentProblem
from engine.processes import recorded_process
from engine.settings import Settings

NAMENODE_CLASS = "org.apache.hadoop.hdfs.server.namenode.NameNode"
DATANODE_CLASS = "org.apache.hadoop.hdfs.server.datanode.DataNode"

# Hadoop 3.4 reflects into JDK internals; Java 17 needs these opened.
JAVA_OPENS = [
    f"--add-opens=java.base/{pkg}=ALL-UNNAMED"
    for pkg in (
        "java.lang",
        "java.lang.reflect",
        "java.io",
        "java.net",
        "java.nio",
        "java.util",
        "java.util.concurrent",
        "sun.nio.ch",
        "sun.net.dns",
        "sun.net.util",
    )
]


@dataclasses.dataclass(frozen=True)
class Daemon:
    """One local HDFS daemon: its name, main class, the address it listens on and registers under, the ports it
    must own, and (DataNodes) the rack the NameNode places it on."""

    name: str
    main_class: str
    ports: dict[str, int]  # what -> port
    host: str = "127.0.0.1"
    rack: str | None = None

    @property
    def address(self) -> str:
        """host:port of its data transfer (DataNodes) or RPC (NameNode) endpoint."""
        return f"{self.host}:{self.ports.get('data') or self.ports.get('rpc')}"

    @property
    def is_datanode(self) -> bool:
        return self.main_class == DATANODE_CLASS


def datanode_ports(settings: Settings, index: int) -> dict[str, int]:
    base = settings.datanode_base_port + 10 * index
    return {"data": base, "http": base + 1, "ipc": base + 2}


def daemons(settings: Settings) -> list[Daemon]:
    """The daemons of the local cluster, NameNode first."""
    nn = Daemon("namenode", NAMENODE_CLASS, {"rpc": settings.namenode_rpc_port, "http": settings.namenode_http_port}, settings.bind_host)
    racks = [rack for rack, count in settings.racks for _ in range(count)]
    dns = [
        Daemon(f"datanode{i}", DATANODE_CLASS, datanode_ports(settings, i), datanode_host(settings, i), racks[i - 1] if i <= len(racks) else None)
        for i in range(1, settings.datanodes + 1)
    ]
    return [nn, *dns]


def datanode_host(settings: Settings, index: int) -> str:
    """DataNode i's own loopback address, 127.0.0.1<i>: the whole 127.0.0.0/8 is this machine on Linux, so each
    DataNode is a host of its own without leaving it. Served beyond loopback, or where loopback has only
    127.0.0.1 (macOS without aliases), every daemon shares the bind address."""
    if settings.bind_host != "127.0.0.1" or not loopback_aliases_work():
        return settings.bind_host
    return f"127.0.0.{10 + index}"


@functools.lru_cache(maxsize=1)
def loopback_aliases_work() -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.11", 0))
        except OSError:
            return False
    return True


def topology_mapping(settings: Settings) -> str:
    """``host=rack,...`` for Hadoop's StaticMapping; empty when the DataNodes share one host (one rack then)."""
    nodes = [d for d in daemons(settings) if d.is_datanode and d.rack]
    if len({d.host for d in nodes}) < len(nodes):
        return ""
    return ",".join(f"{d.host}={d.rack}" for d in nodes)


def datanode_names(settings: Settings) -> dict[str, str]:
    """Map a DataNode's transfer address to its local name ('datanode1'), by its own address ('127.0.0.11:9910')
    and by the NameNode's IP for it ('127.0.0.1:9910': every local DataNode connects from 127.0.0.1)."""
    names = {}
    for d in daemons(settings):
        if d.is_datanode:
            names[f"127.0.0.1:{d.ports['data']}"] = d.name
            names[d.address] = d.name
    return names


# --------------------------------------------------------------------------- config files
def _xml(props: dict[str, object]) -> str:
    rows = "\n".join(f"  <property><name>{escape(k)}</name><value>{escape(str(v))}</value></property>" for k, v in props.items())
    return f'<?xml version="1.0"?>\n<configuration>\n{rows}\n</configuration>\n'


LOG4J = (
    "log4j.rootLogger=INFO,console\n"
    "log4j.appender.console=org.apache.log4j.ConsoleAppender\n"
    "log4j.appender.console.target=System.err\n"
    "log4j.appender.console.layout=org.apache.log4j.PatternLayout\n"
    "log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n\n"
    "log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR\n"
)


def write_config(settings: Settings, daemon: Daemon) -> Path:
    """Write core-site.xml, hdfs-site.xml and log4j.properties for one daemon; return its conf dir."""
    base = settings.hdfs_dir
    conf_dir = base / "conf" / daemon.name
    conf_dir.mkdir(parents=True, exist_ok=True)
    core = {
        "fs.defaultFS": f"hdfs://{settings.bind_host}:{settings.namenode_rpc_port}",
        "hadoop.tmp.dir": base / "tmp",
        "hadoop.http.staticuser.user": settings.hdfs_user,
        "hadoop.security.authentication": "simple",
    }
    mapping = topology_mapping(settings)
    if mapping:
        # Racks by host name: every local DataNode reaches the NameNode from 127.0.0.1, and the IP-keyed
        # (cached) mappings would put them all on one rack; StaticMapping is keyed by the registered host name.
        core["net.topology.node.switch.mapping.impl"] = "org.apache.hadoop.net.StaticMapping"
        core["hadoop.configured.node.mapping"] = mapping
    hdfs = {
        "dfs.namenode.name.dir": f"file://{base / 'data' / 'namenode'}",
        "dfs.namenode.rpc-address": f"{settings.bind_host}:{settings.namenode_rpc_port}",
        "dfs.namenode.http-address": f"{settings.bind_host}:{settings.namenode_http_port}",
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
        # A copy the NameNode ordered but never heard back about (its target stopped, a transfer failed) is
        # ordered again after 30 s, not 5 minutes: a stopped rack's blocks otherwise wait behind it.
        "dfs.namenode.reconstruction.pending.timeout-sec": 30,
        "dfs.namenode.datanode.registration.ip-hostname-check": "false",
        "dfs.namenode.handler.count": 10,
        "dfs.datanode.du.reserved": 0,
        "dfs.client.block.write.replace-datanode-on-failure.policy": "NEVER",
        # Every DataNode here shares one host, so a node's transfer-thread count says nothing about its load. With
        # the check on, a node briefly "too busy" is skipped and a new block is written with fewer replicas than
        # asked for (CI of 2026-12-05 00:01: one replica, on the DataNode a fault test then stopped). Hadoop's own
        # MiniDFSCluster turns it off for the same reason (HDFS-15659).
        "dfs.namenode.redundancy.considerLoad": "false",
    }
    if daemon.is_datanode:
        hdfs.update(_datanode_props(settings, daemon))
    (conf_dir / "core-site.xml").write_text(_xml(core))
    (conf_dir / "hdfs-site.xml").write_text(_xml(hdfs))
    (conf_dir / "log4j.properties").write_text(LOG4J)
    return conf_dir


# --------------------------------------------------------------------------- environment checks
def _datanode_props(settings: Settings, daemon: Daemon) -> dict[str, object]:
    host, p = daemon.host, daemon.ports
    return {
        "dfs.datanode.data.dir": f"file://{settings.hdfs_dir / 'data' / daemon.name}",
        "dfs.datanode.address": f"{host}:{p['data']}",
        "dfs.datanode.http.address": f"{host}:{p['http']}",
        "dfs.datanode.ipc.address": f"{host}:{p['ipc']}",
        "dfs.datanode.hostname": host,
        # Reach other DataNodes (write pipelines, re-replication) at their own address, not at the
        # 127.0.0.1 the NameNode saw them connect from.
        "dfs.datanode.use.datanode.hostname": "true",
        "dfs.client.use.datanode.hostname": "true",
        "dfs.datanode.handler.count": 4,
    }


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


def pid_file(settings: Settings, name: str) -> Path:
    return settings.hdfs_dir / "pids" / f"{name}.json"


def daemon_process(settings: Settings, name: str) -> psutil.Process | None:
    """The running process of daemon ``name``, or None (a stale pid file is removed)."""
    return recorded_process(pid_file(settings, name))


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    interesting = [line for line in text if " ERROR " in line or "Exception" in line or "FATAL" in line]
    return "\n".join((interesting or text)[-lines:])
