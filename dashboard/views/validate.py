"""Validate: a model measured on a hospital's own labelled scans, through what a clinician would see."""

import streamlit as st

from dashboard import data_cache, jobview, state, validate_view
from dashboard.ui import guarded
from engine.jobs import uploads
from engine.jobs.requests import EvaluateRequest

st.title("Validate on your data")
st.caption(
    "Before trusting the model on your scans, measure it on some of them: labelled scans in class folders "
    "(glioma, meningioma, notumor, pituitary). Every scan goes through the same checks and gate as an upload on "
    "the Classify page, so you see what your clinicians would have been told: answered, flagged for review, or "
    "refused. Nothing here is added to the audit log."
)

models = data_cache.models(True)
ids = [m["model_id"] for m in models]
default = next((m["model_id"] for m in models if m.get("default")), ids[0] if ids else "")
c = st.columns([2, 3])
model = c[0].selectbox("Model", ids or ["—"], index=ids.index(default) if default in ids else 0, key="validate.model")
with c[1]:
    zip_tab, dataset_tab = st.tabs(["Upload a .zip", "An HDFS dataset"])
    with zip_tab:
        zipped = st.file_uploader("Zip of class folders", type=["zip"], key="validate.zip", help="<class>/<image> folders, e.g. Kaggle's Testing/")
        if st.button("Validate on the zip", disabled=zipped is None or not ids, icon=":material/fact_check:", type="primary"):
            with guarded("start the validation"):
                # Stored under a random name (an upload's name may carry a patient's) and deleted once read.
                target = uploads.save_upload(state.settings(), zipped.getvalue(), ".zip")
                jobview.start(EvaluateRequest(str(target), model=model, remove_source=True))
    with dataset_tab:
        names = [d["name"] for d in data_cache.dataset_list()]
        name = st.selectbox("Dataset", names or ["—"], key="validate.dataset")
        if st.button("Validate on the dataset", disabled=not names or not ids, icon=":material/fact_check:"):
            with guarded("start the validation"):
                jobview.start(EvaluateRequest(name, model=model))

st.divider()
# private: the result names the scans, which may carry patients' names; only the session that started it sees it
jobview.show_latest("evaluate", None, on_result=validate_view.show, key="validate-job", private=True)
