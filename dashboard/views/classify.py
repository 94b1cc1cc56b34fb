"""Classify: upload scans (JPEG, PNG, DICOM) and get an explained, calibrated answer — or a plain refusal."""

import pandas as pd
import streamlit as st

from dashboard import classify_parts, state
from dashboard.ui import guarded
from engine.clinic import classification_log
from engine.ml import registry

st.title("Classify")
st.caption(
    "Decision support for brain MRI slices: glioma, meningioma, no tumour or pituitary tumour. The model refuses "
    "images that are not brain MRI and flags answers it is unsure of. The physician decides."
)

clf = None
default = registry.default_model_id(state.settings())
if default is None:
    st.info("No model is available yet: train one on the Train page (or restore assets/models/).", icon=":material/model_training:")
    st.stop()
with guarded("load the model"):
    clf = classify_parts.classifier(default)
if clf is None:
    st.stop()

files = st.file_uploader(
    "Scans",
    type=["jpg", "jpeg", "png", "dcm", "dicom"],
    accept_multiple_files=True,
    help="One slice per file. DICOM headers are read for technical fields only; no patient data is shown or kept.",
)
if files:
    # Answer (and audit-log) each upload once: widgets below rerun the page, which must not classify again.
    upload_key = tuple(f.file_id for f in files)
    if st.session_state.get("classify.upload_key") != upload_key:
        answers = []
        bar = st.progress(0.0, text="Classifying…") if len(files) > 1 else None
        with guarded("classify the scans"):
            chunk = 16
            for start in range(0, len(files), chunk):
                part = files[start : start + chunk]
                answers += clf.classify([(f.name, f.getvalue()) for f in part], log=state.settings(), source="dashboard")
                if bar:
                    bar.progress(min(1.0, (start + len(part)) / len(files)), text=f"Classified {start + len(part)} of {len(files)}")
            st.session_state["classify.upload_key"], st.session_state["classify.answers"] = upload_key, answers
        if bar:
            bar.empty()
    answers = st.session_state.get("classify.answers", []) if st.session_state.get("classify.upload_key") == upload_key else []
    if len(answers) == 1:
        classify_parts.show_answer(answers[0], clf.loaded.card, key="one")
    elif answers:
        table = classify_parts.batch_table(answers)
        refused, unsure = int((table["flag"] == "refused").sum()), int((table["flag"] == "uncertain").sum())
        st.markdown(f"**{len(answers)} scans** · {len(answers) - refused} classified · {unsure} uncertain · {refused} refused")
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                "scan": st.column_config.ImageColumn("scan", width="small"),
                "confidence": st.column_config.ProgressColumn("confidence", min_value=0, max_value=1, format="percent"),
            },
        )
        st.download_button("Download CSV", table.drop(columns=["scan"]).to_csv(index=False), "classifications.csv", "text/csv", icon=":material/download:")
        # By position, not by name: DICOM exports are often all called IM-0001.dcm.
        pick = st.selectbox("Details of", range(len(answers)), format_func=lambda i: f"#{i + 1} {answers[i].file}")
        classify_parts.show_answer(answers[pick], clf.loaded.card, key=f"pick{pick}")

with st.expander("Audit log", icon=":material/receipt_long:"):
    st.caption("Every answer: time, SHA-256 of the file, model, result and flags. No file names, no pixels, no patient data.")
    rows = classification_log.read(state.settings(), limit=500)
    if rows:
        log = pd.DataFrame(rows)
        st.dataframe(log.drop(columns=["probabilities"]).iloc[::-1], hide_index=True, width="stretch", height=260)
        st.download_button(
            "Download the audit log (JSON lines)",
            classification_log.log_path(state.settings()).read_bytes(),
            "audit-log.jsonl",
            "application/json",
            icon=":material/download:",
        )
    else:
        st.caption("No classification yet.")
