"""Sidebar: live cluster health and the jobs panel, each refreshed by its own fragment."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import jobview, state
from dashboard.ui import human_bytes
from engine.hdfs import probes
from engine.jobs import store as jobs
from engine.jobs.store import JobStatus

STATUS_ICONS = {
    JobStatus.QUEUED: ":material/schedule:",
    JobStatus.RUNNING: ":material/progress_activity:",
    JobStatus.SUCCEEDED: ":material/check_circle:",
    JobStatus.FAILED: ":material/error:",
    JobStatus.CANCELLED: ":material/cancel:",
}


@st.cache_data(ttl=2, show_spinner=False)
def cluster_status() -> dict:
    return probes.cluster_status(state.settings())


def cluster_health() -> None:
    status = cluster_status()
    nn = status["namenode"]
    if not nn["live"]:
        st.error(f"NameNode not answering at {nn['url']}. Start HDFS with `./run.sh`.", icon=":material/cloud_off:")
        return
    live = sum(d["live"] for d in status["datanodes"])
    total = len(status["datanodes"])
    ok = live == total and not nn.get("safemode")
    label = f"HDFS {'healthy' if ok else 'degraded'} · {live}/{total} DataNodes"
    st.markdown(f"{':material/cloud_done:' if ok else ':material/warning:'} **{label}**")
    cols = st.columns(total or 1)
    for col, dn in zip(cols, status["datanodes"]):
        col.markdown(f"{':green[●]' if dn['live'] else ':red[●]'} {dn['name'].replace('datanode', 'dn')}")
    free, cap = nn.get("free_bytes"), nn.get("capacity_bytes")
    if cap:
        st.progress(min(1.0, 1 - free / cap), text=f"free {human_bytes(free)} of {human_bytes(cap)}")
    if nn.get("under_replicated_blocks"):
        st.warning(f"{nn['under_replicated_blocks']} under-replicated block(s)", icon=":material/warning:")


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%H:%M:%S") if ts else ""


def jobs_panel(limit: int = 6) -> None:
    recent = jobs.list_jobs(state.settings(), limit=limit)
    if not recent:
        st.caption("No jobs yet. Long work (ingest, preprocessing, training) runs here as jobs.")
        return
    for job in recent:
        icon = STATUS_ICONS[job.status]
        st.markdown(
            f"{icon} **{job.title}**  \n:gray[{job.status} · {_when(job.created)}" + (f" · {job.seconds:.0f} s" if job.seconds is not None else "") + "]"
        )
        if job.status == JobStatus.RUNNING:
            jobview.progress(job, lambda p: p.get("message", "")[:60], "sidebar")
        elif job.status == JobStatus.FAILED and job.error:
            st.caption(f":red[{job.error[:160]}]")


def sidebar(live: bool = True) -> None:
    """Cluster health and jobs; with ``live`` each part refreshes itself (every 5 s and 2 s)."""
    st.subheader("Cluster")
    (st.fragment(cluster_health, run_every=5) if live else cluster_health)()
    st.subheader("Jobs")
    (st.fragment(jobs_panel, run_every=2) if live else jobs_panel)()
