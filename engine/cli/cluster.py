"""`cluster`, `hdfs`, `spark` and `settings`: the services under the pipeline."""

from __future__ import annotations

import argparse

from engine.cli.common import raise_usage
from engine.hdfs import cluster, probes
from engine.hdfs.storage import Storage
from engine.settings import Settings
from engine.textutil import human_bytes


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "cluster",
        parents=[common],
        help="start, stop or inspect the local HDFS",
        description="Start, stop or inspect the local HDFS (NameNode + DataNodes on loopback).",
    )
    p.add_argument("action", choices=["up", "down", "status", "stop-node", "start-node", "stop-rack", "start-rack"])
    p.add_argument("name", nargs="?", help="daemon for stop-node/start-node (e.g. datanode2), rack for stop-rack/start-rack (e.g. /rack-b)")
    p.set_defaults(handler=cmd_cluster)

    p = sub.add_parser(
        "hdfs",
        parents=[common],
        help="list HDFS paths and show a file's blocks",
        description="List an HDFS folder, or show a file's blocks and the DataNodes holding each replica.",
    )
    p.add_argument("action", choices=["ls", "blocks"])
    p.add_argument("path", help="HDFS path, e.g. /mri")
    p.set_defaults(handler=cmd_hdfs)

    p = sub.add_parser(
        "spark",
        parents=[common],
        help="start, stop or inspect a local Spark standalone cluster",
        description="A Spark standalone master and K one-core workers on loopback (spark://127.0.0.1:7077).",
    )
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(handler=cmd_spark)

    p = sub.add_parser(
        "settings",
        parents=[common],
        help="show the effective settings (validates every MRI_* variable)",
        description="Show the settings read from MRI_* environment variables; a bad value is named.",
    )
    p.set_defaults(handler=cmd_settings)


def cmd_cluster(args, settings: Settings, progress) -> tuple[dict, str]:
    say = lambda msg: progress(0, None, msg)  # noqa: E731
    if args.action == "up":
        if not settings.hdfs_managed:
            status = probes.cluster_status(settings)
            return {"started": [], "managed": False, **status}, f"Using the existing cluster at {settings.namenode_http}; nothing to start."
        result = cluster.cluster_up(settings, on_progress=say)
        if result["started"]:
            text = f"HDFS is up at {settings.namenode_http} ({', '.join(result['started'])} started in {result['seconds']:.1f} s)."
        else:
            text = f"HDFS is already running at {settings.namenode_http}."
        return result, text
    if args.action == "down":
        result = cluster.cluster_down(settings, on_progress=say)
        return result, ("Stopped " + ", ".join(result["stopped"]) + ".") if result["stopped"] else "No local HDFS daemon was running."
    if args.action in ("stop-rack", "start-rack"):
        if not args.name:
            raise_usage(f"cluster {args.action} needs a rack, e.g. /rack-b (cluster status shows them).")
        changed = (cluster.stop_rack if args.action == "stop-rack" else cluster.start_rack)(settings, args.name)
        verb = "stopped" if args.action == "stop-rack" else "started"
        return {"rack": args.name, verb: changed}, f"{args.name}: {verb} {', '.join(changed) or 'nothing (already so)'}."
    if args.action in ("stop-node", "start-node"):
        if not args.name:
            raise_usage(f"cluster {args.action} needs a daemon name, e.g. datanode2.")
        fn = cluster.stop_daemon if args.action == "stop-node" else cluster.start_daemon
        changed = fn(settings, args.name)
        verb = "stopped" if args.action == "stop-node" else "started"
        return {
            "name": args.name,
            verb: changed,
        }, f"{args.name} {verb}." if changed else f"{args.name} was already {'stopped' if verb == 'stopped' else 'running'}."
    status = probes.cluster_status(settings)
    nn = status["namenode"]
    lines = [f"NameNode {nn['url']}: {'live' if nn['live'] else 'NOT ANSWERING'}" + (" (safe mode)" if nn.get("safemode") else "")]
    for dn in status["datanodes"]:
        lines.append(
            f"  {dn['name']:<10} {dn.get('address') or dn['host']:<17} {dn.get('rack') or '':<8} {'live' if dn['live'] else 'DEAD':<5} "
            f"used {human_bytes(dn['used_bytes'])} of {human_bytes(dn['capacity_bytes'])}, blocks {dn.get('blocks')}"
        )
    return status, "\n".join(lines)


def cmd_hdfs(args, settings: Settings, progress) -> tuple[dict, str]:
    storage = Storage(settings)
    if args.action == "ls":
        entries = storage.list(args.path)
        lines = [f"{'d' if e['type'] == 'directory' else '-'} {e['replication'] or '-':>2} {human_bytes(e['length']):>10}  {e['path']}" for e in entries]
        return {"path": args.path, "entries": entries}, "\n".join(lines) or f"{args.path} is empty."
    info = storage.blocks(args.path)
    lines = [
        f"{info['path']}: {human_bytes(info['length'])} in {len(info['blocks'])} block(s) of up to "
        f"{human_bytes(info['block_size'])}, replication {info['replication']}"
    ]
    for b in info["blocks"]:
        on = ", ".join(f"{h} ({r})" for h, r in zip(b["hosts"], b.get("racks") or [""] * len(b["hosts"]), strict=False))
        lines.append(f"  blk_{b['block_id']}  offset {b['offset']:>10}  {human_bytes(b['length']):>10}  on {on}")
    return info, "\n".join(lines)


def cmd_spark(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.spark import standalone as spark_cluster

    if args.action == "up":
        r = spark_cluster.start(settings, args.workers)
        return r, f"Spark standalone master {r['url']} with {r['alive_workers']} workers; UI {r['ui']}. Use --master {r['url']}."
    if args.action == "down":
        stopped = spark_cluster.stop(settings)
        return {"stopped": stopped}, ("Stopped " + ", ".join(stopped)) if stopped else "No standalone Spark was running."
    r = spark_cluster.status(settings)
    return r, (f"{r['url']}: {r['alive_workers']} workers, {r['cores']} cores" if r["running"] else "No standalone Spark is running.")


def cmd_settings(args, settings: Settings, progress) -> tuple[dict, str]:
    data = settings.as_dict()
    return data, "\n".join(f"{k:<22} {v}" for k, v in data.items())
