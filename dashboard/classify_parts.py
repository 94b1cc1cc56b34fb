"""Pieces of the Classify page: the loaded classifier (cached), one answer in detail, a batch table."""

from __future__ import annotations

import base64

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import state
from dashboard.ui import plain
from engine.classes import CLASS_LABELS, CLASSES
from engine.clinic.gradcam import overlay
from engine.ml.test_time import reading_sentence
from engine.numbers import probability as percent
from engine.png import png_bytes


@st.cache_resource(show_spinner="Loading the model…")
def classifier(model_id: str | None):
    """One Classifier per model per server (the model, its Grad-CAM graph and OOD statistics)."""
    from engine.clinic.classify import Classifier
    from engine.ml.inference import load_model

    return Classifier(load_model(state.settings(), state.storage(), model_id))


def probability_bars(probabilities: dict) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=[probabilities[c] for c in CLASSES],
            y=[CLASS_LABELS[c] for c in CLASSES],
            orientation="h",
            marker_color="#4C78A8",
            text=[percent(probabilities[c]) for c in CLASSES],
            textposition="outside",
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    fig.update_layout(height=220, margin={"l": 10, "r": 40, "t": 10, "b": 10}, xaxis={"range": [0, 1.12], "tickformat": ".0%"}, yaxis={"autorange": "reversed"})
    return fig


def _how_it_was_read(answer) -> None:
    """What the clinic did to the scan before or beside the model's reading, in a caption under it."""
    if answer.reframed:
        st.caption(
            "The scan sat in a frame the training scans never have (a light page or background, a wide black viewer, or shown small); it was cut out as shown, framed as the training scans are, before the model looked."
        )
    if answer.brightened:
        st.caption(
            "The scan is darker than almost every training scan; the model read it as it is and brightened to their median brightness, and the answer averages both readings. The heat map is the brightened reading's."
        )


def show_answer(answer, card: dict, key: str) -> None:
    """The scan (with its heat map if answered), the answer or the refusal, probabilities, the model, the PDF.

    Every text that came with the upload (reason, DICOM values) is escaped: it shows as written, never as Markdown.
    """
    from engine.clinic.report import report_pdf

    left, right = st.columns([1, 1])
    with left:
        if answer.grey is not None:
            show_cam = answer.cam is not None and st.toggle("Heat map (Grad-CAM)", value=True, key=f"{key}.cam")
            opacity = st.slider("Opacity", 0.0, 1.0, 0.45, 0.05, key=f"{key}.opacity") if show_cam else 0.0
            img = overlay(answer.grey, answer.cam, opacity) if show_cam else answer.grey
            st.image(png_bytes(img.resize((384, 384))), width=384)
        _how_it_was_read(answer)
        if answer.technical:
            st.caption(plain(" · ".join(f"{k}: {v}" for k, v in answer.technical.items())))
        if answer.burned_in_annotation:
            st.warning(
                "The file says text is burnt into this image: it may show patient data. Nothing of it is "
                "stored here; take care where you share the image or the report.",
                icon=":material/visibility:",
            )
    with right:
        if answer.rejected:
            st.error(f"**Not classified.** {plain(answer.reason)}", icon=":material/block:")
        else:
            title = f"**{CLASS_LABELS[answer.label]}** — {percent(answer.probabilities[answer.label])}"
            if answer.uncertain:
                st.warning(f"{title}\n\n{plain(answer.reason)}", icon=":material/help:")
            else:  # neutral for every class: no answer, "No tumour" least of all, is styled as reassurance
                st.info(title, icon=":material/neurology:")
            st.plotly_chart(probability_bars(answer.probabilities), width="stretch", key=f"{key}.bars")
            st.download_button(
                "PDF report",
                report_pdf(answer, card),
                file_name=f"report-{answer.sha256[:12]}.pdf",
                mime="application/pdf",
                icon=":material/picture_as_pdf:",
                key=f"{key}.pdf",
            )
        with st.expander("About the model", icon=":material/info:"):
            v = card["validation"]
            st.markdown(
                f"**{plain(card['model_id'])}** ({card['architecture']}, {card['parameters']:,} parameters)  \n"
                f"Validation accuracy {v['accuracy']:.2%} (95% CI {v['accuracy_ci95'][0]:.1%}–{v['accuracy_ci95'][1]:.1%}) "
                f"on {v['n']} images, macro F1 {v['macro_f1']:.3f}, glioma recall {v['per_class']['glioma']['recall']:.1%}.  \n"
                f"Trained {card['created']} on {plain(card['training']['dataset'])}; probabilities calibrated (T = {card['temperature']:.2f}). "
                + reading_sentence(card["input"])
            )
        st.caption(
            f"Model {plain(answer.model or card['model_id'])} · answered {answer.time} · SHA-256 {answer.sha256} · "
            "decision support only: the physician decides."
        )


def _thumb(answer) -> str | None:
    if answer.grey is None:
        return None
    img = answer.grey.copy()
    img.thumbnail((64, 64))
    return "data:image/png;base64," + base64.b64encode(png_bytes(img)).decode()


def batch_table(answers: list) -> pd.DataFrame:
    """One row per upload, in upload order (two files may share a name): what the CSV export holds too."""
    return pd.DataFrame(
        [
            {
                "#": i + 1,
                "scan": _thumb(a),
                "file": a.file,
                "class": CLASS_LABELS.get(a.label, "—") if a.label else "—",
                "confidence": round((a.probabilities or {}).get(a.label), 4) if a.label else None,
                "flag": "refused" if a.rejected else ("uncertain" if a.uncertain else ""),
                "reason": a.reason or "",
                **{f"p_{c}": round(a.probabilities[c], 4) if a.probabilities and not a.rejected else None for c in CLASSES},
                "model": a.model or "",
                "time": a.time,
                "sha256": a.sha256,
            }
            for i, a in enumerate(answers)
        ]
    )
