"""Sections of the HDFS page: file browser with blocks, DataNodes, health, small files, failure demo."""

from __future__ import annotations

import posixpath
import time

import pandas as pd
import streamlit as st

from dashboard import charts, data_cache, health, state
from dashboard.ui import guarded, human_bytes, plain
from engine.data import datasets
from engine.hdfs import cluster, daemons, probes
from engine.hdfs.storage import verify_reads


def _open(folder: str) -> None:
    """Go to ``folder`` with a fresh table: a selection belongs to the listing it was made in, never the next."""
    st.session_state[state.HDFS_FOLDER] = posixpath.normpath(folder or "/")
    st.session_state["hdfs.visit"] = st.session_state.get("hdfs.visit", 0) + 1
    st.rerun()


def browser() -> None:
    start = datasets.datasets_root()
    folder = st.session_state.setdefault(state.HDFS_FOLDER, start if state.storage().exists(start) else "/")
    visit = st.session_state.get("hdfs.visit", 0)
    top = st.columns([4, 1])
    new_folder = top[0].text_input("Folder", value=folder, help=f"An HDFS path such as {start}", key=f"hdfs.folder.{visit}")
    if new_folder != folder:
        _open(new_folder)
    if top[1].button("Up", icon=":material/arrow_upward:", disabled=folder == "/", width="stretch"):
        _open(posixpath.dirname(folder.rstrip("/")) or "/")
    with guarded(f"list {folder}"):
        entries = state.storage().list(folder)
        if not entries:
            st.info(f"{folder} is empty.")
        else:
            table = pd.DataFrame(
                [
                    {
                        "kind": "folder" if e["type"] == "directory" else "file",
                        "name": e["name"],
                        "size": human_bytes(e["length"]) if e["type"] == "file" else "",
                        "replication": str(e["replication"]) if e["type"] == "file" else "",
                        "path": e["path"],
                        "type": e["type"],
                    }
                    for e in entries
                ]
            )
            st.caption("Click a folder's name to open it, a file's name to see its blocks.")
            picked = st.dataframe(
                table[["kind", "name", "size", "replication"]],
                hide_index=True,
                width="stretch",
                on_select="rerun",
                selection_mode=["single-cell", "single-row"],
                key=f"hdfs.table.{visit}",
                height=min(400, 40 + 35 * len(table)),
            )
            rows = ([c[0] for c in picked.selection.cells] + list(picked.selection.rows)) if picked else []
            if rows and rows[0] < len(table):
                entry = table.iloc[rows[0]]
                if entry["type"] == "directory":
                    _open(entry["path"])
                st.session_state[state.HDFS_SELECTED_PATH] = entry["path"]
    selected = st.session_state.get(state.HDFS_SELECTED_PATH)
    if selected and posixpath.dirname(selected) == (folder.rstrip("/") or "/"):
        with guarded(f"read the blocks of {selected}"):
            blocks(selected)


def blocks(path: str) -> None:
    info = state.storage().blocks(path)
    head, refresh = st.columns([5, 1])
    head.subheader(f"Blocks of {posixpath.basename(path)}")
    refresh.button(
        "Refresh",
        icon=":material/refresh:",
        key="hdfs.blocks.refresh",
        width="stretch",
        help="Read the block locations from the NameNode again (after stopping a DataNode, say)",
    )
    st.caption(f"As the NameNode reported them at {time.strftime('%H:%M:%S')}.")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Size", human_bytes(info["length"]))
    c2.metric("Block size", human_bytes(info["block_size"]))
    c3.metric("Blocks", len(info["blocks"]))
    c4.metric("Replication", info["replication"])
    nodes = sorted(health.cluster_status()["datanodes"], key=lambda d: (d.get("rack") or "", d["name"]))
    label = rack_labels(nodes)
    by_rack = {**info, "blocks": [{**b, "hosts": [label.get(h, h) for h in b["hosts"]]} for b in info["blocks"]]}
    st.plotly_chart(charts.block_map(by_rack, [label[d["name"]] for d in nodes]), width="stretch")
    st.caption("Rows are the DataNodes, grouped by rack: with replication 2 on two racks, each block keeps a copy on both.")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "block": f"blk_{b['block_id']}",
                    "offset": b["offset"],
                    "length": b["length"],
                    "replicas on": ", ".join(b["hosts"]),
                    "racks": ", ".join(b.get("racks") or []),
                }
                for b in info["blocks"]
            ]
        ),
        hide_index=True,
        width="stretch",
    )


@st.fragment(run_every=5)
def datanodes() -> None:
    """DataNodes and fsck, redrawn every 5 s with the sidebar, so a stopped node shows here as there."""
    st.subheader("DataNodes")
    st.caption(f"As of {time.strftime('%H:%M:%S')}; refreshes every 5 s.")
    status = health.cluster_status()
    if not status["datanodes"]:
        st.info("No DataNode is known to the NameNode.")
        return
    left, right = st.columns([3, 2])
    left.dataframe(
        pd.DataFrame(
            [
                {
                    "DataNode": d["name"],
                    "rack": d.get("rack") or "",
                    "address": d.get("address") or d["host"],
                    "state": "live" if d["live"] else "dead",
                    "blocks": d.get("blocks"),
                    "used": human_bytes(d.get("used_bytes")),
                    "capacity": human_bytes(d.get("capacity_bytes")),
                    "last heartbeat (s)": d.get("last_contact_s"),
                }
                for d in status["datanodes"]
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    right.plotly_chart(charts.datanode_usage(status["datanodes"]), width="stretch")
    fsck = probes.fsck(state.settings(), "/")
    c = st.columns(5)
    c[0].metric("fsck", fsck["status"])
    c[1].metric("Under-replicated", fsck["under_replicated"])
    c[2].metric("Missing", fsck["missing"])
    c[3].metric("Corrupt", fsck["corrupt"])
    c[4].metric("Avg. replication", f"{fsck['average_replication']:.2f}" if fsck["average_replication"] else "—")


def rack_labels(nodes: list[dict]) -> dict[str, str]:
    """DataNode name -> "rack · name", so charts group a rack's DataNodes together."""
    return {d["name"]: f"{d['rack']} · {d['name']}" if d.get("rack") else d["name"] for d in nodes}


def small_files() -> None:
    found = data_cache.dataset_list()
    if not found:
        return
    st.subheader("The small-files problem")
    name = max(found, key=lambda d: d["images"])["name"]
    r = data_cache.small_files(name)
    st.caption(
        f"Dataset **{name}**: every scan as its own HDFS file costs the NameNode a file object and a block "
        "object in memory, and each file is a separate read. The packed copy puts the same bytes in a few large files."
    )
    c = st.columns(4)
    c[0].metric("Files (one per scan)", f"{r['raw_files']:,}")
    c[1].metric("Average file", human_bytes(r["average_file_bytes"]), help=f"{r['average_fill_of_a_block']:.1%} of a block")
    c[2].metric("Packed files", r["packed_files"], help=f"{r['packed_blocks']} blocks")
    c[3].metric(
        "NameNode objects saved",
        f"{r['objects_saved_ratio']:.0f}×" if r["objects_saved_ratio"] else "—",
        help=f"~{human_bytes(r['namenode_heap_raw_bytes'])} vs ~{human_bytes(r['namenode_heap_packed_bytes'])} of NameNode heap",
    )
    st.plotly_chart(charts.small_files(r), width="stretch")


def failure_demo() -> None:
    settings = state.settings()
    st.subheader("DataNode failure demo")
    if not settings.hdfs_managed:
        st.caption("Only for the local cluster this dashboard started.")
        return
    st.caption(
        "Stop a DataNode (a real process) or a whole rack, watch the NameNode declare it dead (~20 s) and its blocks become "
        "under-replicated while every file still reads from the other replica; then restart it."
    )
    nodes = [d for d in daemons.daemons(settings) if d.is_datanode]
    racks = sorted({d.rack for d in nodes if d.rack})
    choices = [d.name for d in nodes] + [f"rack {r}" for r in racks if len(racks) > 1]
    cols = st.columns([2, 1, 1])
    victim = cols[0].selectbox(
        "DataNode or rack", choices, index=len(nodes) - 1, label_visibility="collapsed", help="a whole rack: every DataNode on it, as when a rack loses power"
    )
    rack = victim.removeprefix("rack ") if victim.startswith("rack ") else None
    if cols[1].button("Stop it", icon=":material/power_settings_new:", width="stretch"):
        with guarded(f"stop {victim}"), st.spinner(f"Stopping {victim}…"):
            cluster.stop_rack(settings, rack) if rack else cluster.stop_daemon(settings, victim)
            st.session_state[state.HDFS_DEMO_SAMPLES] = []
    if cols[2].button("Restart it", icon=":material/restart_alt:", width="stretch"):
        with guarded(f"start {victim}"), st.spinner(f"Starting {victim}…"):
            cluster.start_rack(settings, rack) if rack else cluster.start_daemon(settings, victim)
    _demo_live()


@st.fragment(run_every=2)
def _demo_live() -> None:
    with guarded("read the replication state"):
        settings = state.settings()
        rep = probes.replication_state(settings)
        samples = st.session_state.setdefault(state.HDFS_DEMO_SAMPLES, [])
        samples.append({"t": time.strftime("%H:%M:%S"), **rep})
        del samples[:-60]
        procs = {d.name: daemons.daemon_process(settings, d.name) is not None for d in daemons.daemons(settings) if d.is_datanode}
        c = st.columns(4)
        c[0].metric("DataNode processes", f"{sum(procs.values())}/{len(procs)}")
        c[1].metric("Live for the NameNode", rep["live_datanodes"])
        c[2].metric("Under-replicated blocks", rep["under_replicated"])
        c[3].metric("Missing blocks", rep["missing"])
        st.plotly_chart(charts.replication_timeline(samples), width="stretch", key="hdfs.demo_chart")
        st.info(failure_story(procs, rep, settings.replication), icon=":material/school:")
        found = data_cache.dataset_list()
        if found:
            frame = data_cache.manifest(found[0]["name"]).head(10)
            check = verify_reads(state.storage(), dict(zip(frame["path"], frame["sha256"])))
            if check["failed"]:
                st.error(f"{len(check['failed'])} of {check['checked']} files could not be read: {plain(check['failed'][0]['reason'])}")
            else:
                failover = (
                    f" {check['failovers']} read(s) reached the stopped DataNode first and failed over to another replica, as HDFS clients do."
                    if check["failovers"]
                    else ""
                )
                st.success(
                    f"Read check: {check['ok']}/{check['checked']} files of {found[0]['name']} read back intact (SHA-256 matches).{failover}",
                    icon=":material/verified:",
                )


def failure_story(processes: dict[str, bool], rep: dict, replication: int) -> str:
    """What the failure demo shows right now, in plain words for a student."""
    stopped = [name for name, alive in processes.items() if not alive]
    dead_for_namenode = len(processes) - rep["live_datanodes"]
    if not stopped and not dead_for_namenode:
        return f"All DataNodes run. Every block has {replication} replicas on different DataNodes. Stop one to see what HDFS does when a machine fails."
    if stopped and dead_for_namenode < len(stopped):
        return (
            f"{', '.join(stopped)} is stopped, but the NameNode has not noticed yet: it declares a DataNode dead only "
            "after its heartbeats have been missing for a while (here about 20 s). Reads that reach it fail over to "
            "another replica meanwhile."
        )
    if rep["under_replicated"]:
        return (
            f"The NameNode declared {dead_for_namenode} DataNode(s) dead. {rep['under_replicated']:,} blocks now have fewer "
            f"than {replication} replicas, so the NameNode tells the live DataNodes to copy them (re-replication): "
            "watch the count fall. Reads go to the replicas that remain."
        )
    if dead_for_namenode:
        return (
            f"Re-replication is done: every block has {replication} replicas again, on the DataNodes that remain, and "
            "nothing was lost. Restart the stopped DataNode: the NameNode then removes the extra replicas."
        )
    return "Every DataNode is back and live."
