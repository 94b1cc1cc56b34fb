"""Preprocess page (not built yet): says so plainly and what it will do."""

import streamlit as st

from dashboard.ui import not_built_yet

st.title("Preprocess")
not_built_yet("Spark preprocessing of a dataset (RDD and DataFrame paths) into Parquet on HDFS, run as a job with live task progress.", "python -m engine preprocess N")
