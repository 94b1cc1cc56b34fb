"""What the NameNode says: readiness, cluster status from its JMX, /fsck health and replication counters.
Read-only probes that never start or stop anything."""

from __future__ import annotations

import json
import re

import psutil
import requests

from engine.errors import ClusterError
from engine.hdfs.daemons import daemon_process, daemons, datanode_names
from engine.settings import Settings


def namenode_jmx(settings: Settings, bean: str) -> dict:
    """One MBean from the NameNode's /jmx servlet; raises requests errors."""
    resp = requests.get(f"{settings.namenode_http}/jmx", params={"qry": bean}, timeout=settings.hdfs_timeout_s)
    resp.raise_for_status()
    beans = resp.json().get("beans", [])
    if not beans:
        raise ClusterError(f"The NameNode at {settings.namenode_http} has no {bean} bean yet.")
    return beans[0]


def readiness(settings: Settings) -> tuple[bool, str]:
    try:
        resp = requests.get(f"{settings.namenode_http}/webhdfs/v1/", params={"op": "GETFILESTATUS", "user.name": settings.hdfs_user}, timeout=5)
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
        status["namenode"].update(
            {
                "live": True,
                "safemode": bool(info.get("Safemode")),
                "version": info.get("Version", "").split(",")[0],
                "capacity_bytes": info.get("Total"),
                "used_bytes": info.get("Used"),
                "free_bytes": info.get("Free"),
                "files_and_dirs": state.get("FilesTotal"),
                "blocks": state.get("BlocksTotal"),
                "under_replicated_blocks": state.get("UnderReplicatedBlocks"),
            }
        )
        status["datanodes"] = _datanode_rows(info, names)
    if settings.hdfs_managed:
        status["processes"] = _processes(settings, status)
    status["datanodes"].sort(key=lambda d: d["name"])
    return status


def is_ready(settings: Settings) -> bool:
    return readiness(settings)[0]


def fsck(settings: Settings, hdfs_path: str = "/") -> dict:
    """Health of a path from the NameNode's /fsck servlet: under-replicated, missing and corrupt blocks."""
    resp = requests.get(f"{settings.namenode_http}/fsck", params={"ugi": settings.hdfs_user, "path": hdfs_path}, timeout=max(settings.hdfs_timeout_s, 60))
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
        "stale_datanodes": state.get("StaleDataNodes", 0),
        "blocks": state.get("BlocksTotal"),
        "files": state.get("FilesTotal"),
    }


def _datanode_rows(info: dict, names: dict[str, str]) -> list[dict]:
    rows = []
    for live, key in ((True, "LiveNodes"), (False, "DeadNodes")):
        for node_name, node in json.loads(info.get(key) or "{}").items():
            xfer = node.get("xferaddr") or node_name.split(" ")[0]
            address = node_name.split(" ")[0]  # its host name:port as it registered (xferaddr is the IP it came from)
            rows.append(
                {
                    "host": xfer,
                    "address": address,
                    "rack": node.get("location"),
                    "name": names.get(address, names.get(xfer, node_name)),
                    "live": live,
                    "used_bytes": node.get("usedSpace"),
                    "capacity_bytes": node.get("capacity"),
                    "remaining_bytes": node.get("remaining"),
                    "blocks": node.get("numBlocks"),
                    "last_contact_s": node.get("lastContact"),
                    "admin_state": node.get("adminState"),
                }
            )
    return rows


def _processes(settings: Settings, status: dict) -> dict:
    """Each local daemon's process; a DataNode started but not yet registered joins ``status`` as not live."""
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
            status["datanodes"].append(
                {
                    "host": f"127.0.0.1:{daemon.ports['data']}",
                    "address": daemon.address,
                    "rack": daemon.rack,
                    "name": daemon.name,
                    "live": False,
                    "used_bytes": None,
                    "capacity_bytes": None,
                    "remaining_bytes": None,
                    "blocks": None,
                }
            )
    return processes
