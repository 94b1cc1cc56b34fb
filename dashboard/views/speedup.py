"""Speedup page (not built yet): says so plainly and what it will do."""

import streamlit as st

from dashboard.ui import not_built_yet

st.title("Speedup")
not_built_yet("Measured sequential vs parallel preprocessing and training times, speedup, efficiency and an Amdahl fit.", "python -m engine benchmark preprocess N")
