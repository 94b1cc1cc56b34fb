"""Preprocess: run the Spark preprocessing of a dataset as a job and see what it wrote to HDFS."""

import os

import pandas as pd
import streamlit as st

from dashboard import data_cache, jobview
from dashboard.ui import human_bytes

st.title("Preprocess")
st.caption("Spark decodes every scan, converts it to grey, resizes it and stretches its intensities, in parallel over the "
           "packed copy in HDFS, and writes Parquet back to HDFS for training. The same per-image function runs in every path.")

found = data_cache.datasets_or_stop("add one on the Dataset page first.")

with st.form("preprocess.form"):
    c = st.columns(4)
    name = c[0].selectbox("Dataset", [d["name"] for d in found])
    size = c[1].number_input("Size (px)", 32, 512, 128, step=16)
    method = c[2].selectbox("Spark API", ["spark-arrow", "spark-rdd"], help="DataFrame mapInArrow, or RDD mapPartitions")
    workers = c[3].number_input("Workers (local[K])", 1, max(1, os.cpu_count() or 1) * 2, os.cpu_count() or 1)
    master = st.text_input("Spark master URL (optional)", placeholder="spark://127.0.0.1:7077 — leave empty for local[K]")
    submitted = st.form_submit_button("Run preprocessing", icon=":material/play_arrow:")
if submitted:
    argv = ["preprocess", name, "--size", str(int(size)), "--method", method]
    argv += ["--master", master.strip()] if master.strip() else ["--workers", str(int(workers))]
    jobview.start(argv, f"Preprocess {name} at {int(size)} px")


def show_result(r: dict) -> None:
    c = st.columns(5)
    c[0].metric("Images", f"{r['images']:,}")
    c[1].metric("Output", human_bytes(r["bytes"]))
    c[2].metric("Partitions", r["partitions"])
    c[3].metric("Parquet files", r["files"])
    c[4].metric("HDFS blocks", r["blocks"])
    st.caption(f"`{r['output']}` · {r['method']} on {r['master']} · {r['seconds']:.1f} s "
               f"(of which {r['session_seconds']:.1f} s starting Spark) · Spark UI was {r['spark_ui']}")
    if r["failed"]:
        st.warning(f"{len(r['failed'])} image(s) could not be decoded and were left out:")
        st.dataframe(pd.DataFrame(r["failed"]), hide_index=True, width="stretch")


jobview.show_latest(["preprocess"], on_result=show_result, key="preprocess")
