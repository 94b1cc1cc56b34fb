"""The Validate page's report: figures, per-class table, confusion matrix, reliability, scans to review, exports."""

import base64

import pandas as pd
import streamlit as st

from dashboard import charts_ml, state
from dashboard.ui import guarded, plain
from engine.classes import CLASS_LABELS, CLASSES


def _per_class(r: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "class": CLASS_LABELS[c],
                "scans": r["per_class"][c]["support"],
                "recall": f"{r['per_class'][c]['recall']:.1%}",
                "precision": f"{r['per_class'][c]['precision']:.1%}",
                "refused": r["refused"]["per_class"][c],
                "flagged for review": r["uncertain"]["per_class"][c],
            }
            for c in CLASSES
        ]
    )


def _gallery(r: dict) -> None:
    items = r.get("gallery") or []
    if not items:
        st.caption("No error and no refusal to review.")
        return
    st.markdown("**To review first:** the most confident errors, then the refusals, with the Grad-CAM of where the model looked.")
    cols = st.columns(8)
    for k, g in enumerate(items):
        with cols[k % 8]:
            st.image(base64.b64decode(g["png"]), width="stretch")
            if g["kind"] == "error":
                st.caption(f"{CLASS_LABELS[g['true']]} → **{CLASS_LABELS[g['predicted']]}** ({g['confidence']:.0%})")
            else:
                st.caption(f"{CLASS_LABELS[g['true']]}: refused", help=plain(g["reason"] or ""))


def _exports(r: dict) -> None:
    from engine.clinic.validation_report import validation_pdf
    from engine.ml import registry

    scans = pd.DataFrame(r["scans"])
    a, b = st.columns(2)
    a.download_button("Every scan (CSV)", scans.to_csv(index=False).encode(), "validation-scans.csv", "text/csv", icon=":material/table:")
    with guarded("build the PDF"):
        card = registry.read_card(registry.fetch(state.settings(), state.storage(), r["model"]))
        b.download_button("Report (PDF)", validation_pdf(r, card), "validation-report.pdf", "application/pdf", icon=":material/picture_as_pdf:")


def show(r: dict) -> None:
    ci = r["accuracy_ci95"]
    c = st.columns(4)
    c[0].metric("Accuracy", f"{r['accuracy']:.2%}", help=f"95% CI {ci[0]:.1%}–{ci[1]:.1%} on {r['n']} scans")
    accepted = r.get("accuracy_accepted")
    c[1].metric("Accuracy of the answers", f"{accepted:.2%}" if accepted is not None else "—", help=f"on the {r.get('n_accepted', 0)} scans not refused")
    c[2].metric("Refused", f"{r['refused']['total']} of {r['n']}", help="refused scans get no answer: the clinician reads them unaided")
    c[3].metric("Flagged for review", f"{r['uncertain']['total']} of {r['n']}", help="answered, with a note that a person must check the answer")
    if r.get("rejected"):
        st.warning(f"{len(r['rejected'])} files could not be read and are not counted.", icon=":material/warning:")
    st.dataframe(_per_class(r), hide_index=True, width="stretch")
    left, right = st.columns(2)
    left.plotly_chart(charts_ml.confusion(r["confusion_matrix"], r["classes"], "rows: true class · columns: answer"), width="stretch", key="validate-cm")
    right.plotly_chart(charts_ml.reliability_diagram(r["reliability"]), width="stretch", key="validate-rel")
    right.caption(f"Calibration error (ECE) {r['ece']:.3f}: how far the stated probabilities are from the observed accuracy.")
    _gallery(r)
    _exports(r)
