"""Preprocess: run the Spark preprocessing of a dataset as a job and see what it wrote to HDFS."""

import os

import pandas as pd
import streamlit as st

from dashboard import data_cache, jobview, state
from dashboard.ui import guarded, human_bytes
from engine.data.pixels import DEFAULT_SIZE
from engine.jobs import store as jobs
from engine.jobs.requests import SPARK_METHODS, PreprocessRequest

st.title("Preprocess")
st.caption(
    "Spark decodes every scan, converts it to grey, resizes it and stretches its intensities, in parallel over the "
    "packed copy in HDFS, and writes Parquet back to HDFS for training. The same per-image function runs in every path."
)

found = data_cache.datasets_or_stop("add one on the Dataset page first.")

# Plain widgets and a button, not st.form: in a form, Enter in a number field would start a job.
with st.container(border=True):
    c = st.columns(4)
    names = [d["name"] for d in found]
    latest = jobs.latest_job(state.settings(), "preprocess")  # the newest (or running) job's dataset comes first
    name = c[0].selectbox("Dataset", names, index=names.index(latest.dataset) if latest and latest.dataset in names else 0)
    size = c[1].number_input("Size (px)", 32, 512, DEFAULT_SIZE, step=16)
    method = c[2].selectbox("Spark API", SPARK_METHODS, help="DataFrame mapInArrow, or RDD mapPartitions")
    workers = c[3].number_input("Workers (local[K])", 1, max(1, os.cpu_count() or 1) * 2, os.cpu_count() or 1)
    master = st.text_input("Spark master URL (optional)", placeholder="spark://127.0.0.1:7077 — leave empty for local[K]")
    submitted = st.button("Run preprocessing", icon=":material/play_arrow:", type="primary")
if submitted:
    jobview.start(PreprocessRequest(name, int(size), int(workers), method, master.strip() or None))


LEVEL_WORDS = {
    "PROCESS_LOCAL": "in the executor's own memory (cached)",
    "NODE_LOCAL": "on the task's own host: a DataNode there held a replica",
    "RACK_LOCAL": "on another host of the same rack",
    "ANY": "fetched over the network from another host",
    "NO_PREF": "no location to prefer (data made in memory)",
}


def show_locality(loc: dict, blocks: list[dict]) -> None:
    """Where Spark ran each task and how close its input was: Spark's own record, per level and per task."""
    st.markdown("**Data locality** — where each task ran, and where its data was")
    c = st.columns(len(loc["counts"]))
    for col, (level, n) in zip(c, loc["counts"].items(), strict=True):
        col.metric(level, n, help=LEVEL_WORDS.get(level))
    reads = [t for t in loc["tasks"] if t.get("input_bytes")]
    if reads:
        st.caption("Tasks that read from HDFS: the host each ran on and how local its block was.")
        frame = pd.DataFrame(reads)[["stage", "task", "host", "locality", "input_bytes", "seconds"]]
        frame["input_bytes"] = frame["input_bytes"].map(human_bytes)
        st.dataframe(frame.rename(columns={"input_bytes": "read"}), hide_index=True, width="stretch", height=min(300, 40 + 35 * len(frame)))
    if blocks:
        st.caption("The blocks they read (the packed copy): a NODE_LOCAL task ran on a host that holds one of its block's replicas.")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "file": b["file"],
                        "block": b["block"],
                        "size": human_bytes(b["bytes"]),
                        "replicas on": ", ".join(f"{h} ({r})" for h, r in zip(b["hosts"], b["racks"], strict=False)),
                    }
                    for b in blocks
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    if "NODE_LOCAL" not in loc["counts"]:
        st.caption(
            "No task was NODE_LOCAL: with local[K] every task runs on this process's host, not on a DataNode's. Start "
            "workers beside the DataNodes with `./run.sh spark 2` and run with the master URL it prints to see them."
        )


def show_result(r: dict) -> None:
    c = st.columns(5)
    c[0].metric("Images", f"{r['images']:,}")
    c[1].metric("Output", human_bytes(r["bytes"]))
    c[2].metric("Partitions", r["partitions"])
    c[3].metric("Parquet files", r["files"])
    c[4].metric("HDFS blocks", r["blocks"])
    st.caption(
        f"`{r['output']}` · {r['method']} on {r['master']} · {r['seconds']:.1f} s "
        f"(of which {r['session_seconds']:.1f} s starting Spark). Spark's web UI lives only as long as its job: "
        "watch it while a job runs, or start a standing cluster with `./run.sh spark`."
    )
    if r.get("locality", {}).get("counts"):
        show_locality(r["locality"], r.get("input_blocks", []))
    if r["failed"]:
        st.warning(f"{len(r['failed'])} image(s) could not be decoded and were left out:")
        st.dataframe(pd.DataFrame(r["failed"]), hide_index=True, width="stretch")


st.subheader(f"{name}: before and after")
with guarded(f"show a scan of {name} before and after preprocessing"):
    before, after = data_cache.before_after(name, int(size))
    left, right = st.columns(2)
    left.image(before, caption="as stored in HDFS", width=256)
    right.image(after, caption=f"prepared: grey, {int(size)}×{int(size)} px, intensities stretched", width=256)

jobview.show_latest("preprocess", name, on_result=show_result, key=f"preprocess.{name}")
