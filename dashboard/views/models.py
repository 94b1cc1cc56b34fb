"""Models page (not built yet): says so plainly and what it will do."""

import streamlit as st

from dashboard.ui import not_built_yet

st.title("Models")
not_built_yet("Every trained model with its card, metrics and confusion matrix; promote one to be the default.", "python -m engine evaluate --model M --data D")
