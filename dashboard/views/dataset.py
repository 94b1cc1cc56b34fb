"""Dataset: add scans to HDFS, see what a dataset holds, and audit it for duplicates and leakage."""

import streamlit as st

from dashboard import data_cache, dataset_sections, state
from dashboard.ui import guarded

st.title("Dataset")
st.caption(
    "Scans go into HDFS with a manifest (one row per image) and a packed copy that Spark reads fast. "
    "Every file is checked first; rejected files are listed with their reason."
)

found = []
with guarded("list the datasets"):
    dataset_sections.add_data()
    found = data_cache.dataset_list()
    wanted = st.query_params.get("dataset")
    if not found or (wanted and wanted not in [d["name"] for d in found]):
        data_cache.dataset_list.clear()  # made since the list was cached (by a job, the CLI or another visitor)
        found = data_cache.dataset_list()
if not found:
    st.info("No dataset in HDFS yet. Add the shipped sample above (folder tab) or upload a zip.")
    st.stop()

names = [d["name"] for d in found]
if st.session_state.get(state.DATASET_SELECTED) not in names:  # first visit or a reload: the URL remembers it
    remembered = st.query_params.get("dataset")
    st.session_state[state.DATASET_SELECTED] = remembered if remembered in names else names[0]
name = st.selectbox("Dataset", names, key=state.DATASET_SELECTED)
st.query_params["dataset"] = name
dataset_sections.describe_dataset(next(d for d in found if d["name"] == name))

with guarded(f"show the statistics of {name}"):
    dataset_sections.statistics(name)
with guarded(f"show sample scans of {name}"):
    dataset_sections.sample_grid(name)
with guarded(f"show the audit of {name}"):
    dataset_sections.audit(name)
