"""Entry point: a router over the pages, with live cluster health and jobs in the sidebar."""

from __future__ import annotations

import streamlit as st

from dashboard import health, state  # the project is installed (run.sh: pip install -e .)

st.set_page_config(page_title="Brain MRI · distributed pipeline", page_icon=":material/neurology:", layout="wide")
state.configure_logging()
state.keep_keras_state()

pages = {
    "Pipeline": [
        st.Page("views/overview.py", title="Overview", icon=":material/home:", default=True),
        st.Page("views/hdfs.py", title="HDFS", icon=":material/storage:"),
        st.Page("views/dataset.py", title="Dataset", icon=":material/photo_library:"),
        st.Page("views/preprocess.py", title="Preprocess", icon=":material/tune:"),
        st.Page("views/train.py", title="Train", icon=":material/model_training:"),
        st.Page("views/speedup.py", title="Speedup", icon=":material/speed:"),
    ],
    "Clinic": [
        st.Page("views/classify.py", title="Classify", icon=":material/neurology:"),
        st.Page("views/models.py", title="Models", icon=":material/inventory_2:"),
        st.Page("views/validate.py", title="Validate", icon=":material/fact_check:"),
    ],
}
page = st.navigation(pages)

with st.sidebar:
    # A self-refreshing fragment can swallow the rerun an upload asks for (streamlit#9079): with five
    # clinicians uploading at once some answers never came. The Classify page draws the sidebar per run.
    health.sidebar(live=page.title != "Classify")

page.run()
