"""HDFS: browse files, see blocks and replicas, DataNode health, the small-files problem, and a live failure demo."""

import streamlit as st

from dashboard import hdfs_sections, state
from dashboard.ui import guarded

st.title("HDFS")
st.caption(
    "Files in HDFS are cut into fixed-size blocks; each block is copied to several DataNodes "
    f"(replication {state.settings().replication}), so a file survives the loss of a machine."
)

hdfs_sections.browser()
with guarded("read the DataNodes"):
    hdfs_sections.datanodes()
with guarded("compare small and packed files"):
    hdfs_sections.small_files()
hdfs_sections.failure_demo()
