"""Dataset page (not built yet): says so plainly and what it will do."""

import streamlit as st

from dashboard.ui import not_built_yet

st.title("Dataset")
not_built_yet("Class counts per split, image sizes, intensity histograms, sample scans and a duplicate/leakage audit of a dataset stored in HDFS.", "python -m engine dataset stats N / dataset audit N")
