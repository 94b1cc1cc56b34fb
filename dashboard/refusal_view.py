"""Models page: what the clinic's gate refuses (images that are not brain MRI, by group) and what it must not
(real scans, as they are and under the shifts uploads carry): `benchmark refusal`."""

import pandas as pd
import streamlit as st

from dashboard import charts_refusal, jobview
from dashboard.reference_view import reference_notice, results, where
from dashboard.ui import guarded
from engine.jobs.requests import RefusalRequest


def _shift_table(result: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "shift": name,
                "refused": f"{row['refused']:.1%}",
                "flagged for review": f"{row['uncertain']:.1%}",
                "accuracy of the answers": f"{row['accuracy_answered']:.1%}" if row["accuracy_answered"] is not None else "–",
                "wrong without a flag": f"{row['wrong_plain_answers']:.1%}" if "wrong_plain_answers" in row else "–",
            }
            for name, row in result["shifts"].items()
        ]
    )


def _outside_lines(result: dict) -> str:
    """Images from outside everything the gate was fitted on: real images of other modalities it never learnt
    from, and real brain MRI of other scanners."""
    parts = []
    unseen = result.get("unseen_negatives")
    if unseen:
        parts.append(
            f"Real CT, ultrasound and X-ray images the check never learnt from: **{unseen['refused']} of {unseen['n']} refused**, "
            f"{unseen['flagged']} more flagged, {unseen['plain_answers']} answered plainly."
        )
    other = result.get("other_source_brain_mri")
    if other:
        parts.append(f"Real brain MRI of other scanners: **{other['refused']} of {other['n']} refused**, {other['flagged']} flagged for review.")
    return " ".join(parts)


def show_result(result: dict, key: str) -> None:
    st.caption(where(result, capital=True) + f" · model {result['model']}")
    c = st.columns(4)
    c[0].metric("Not brain MRI, refused", f"{result['non_mri_refused_share']:.1%}", help=f"{result['non_mri_refused']} of {result['non_mri']} images")
    source_out = result.get("by_group_source_left_out", {})
    if source_out:
        n, refused = sum(g["n"] for g in source_out.values()), sum(g["refused"] for g in source_out.values())
        flagged = sum(g.get("flagged", 0) for g in source_out.values())
        c[1].metric(
            "New CT, X-ray, US, NM, MR image",
            f"{refused / n:.0%}",
            help=f"{refused} of {n} views of other modalities refused and {flagged} more answered with a review flag, each "
            "source judged by a check that never learnt from it (other images of its kind stay): what a new image of a known kind meets",
        )
    left_out = result.get("by_group_left_out", {})
    if left_out:
        worst = min(left_out, key=lambda g: left_out[g]["share"])
        c[2].metric(
            "Weakest kind the check never saw",
            f"{left_out[worst]['share']:.0%}",
            help=f"the weakest group, {worst}, refused when the brain-MRI check never learnt from it",
        )
    c[3].metric(
        "Real scans refused",
        f"{result['real_falsely_refused_share']:.2%}",
        help=f"{result['real_falsely_refused']} of {result['real_scans']}: {result['real_from']}",
    )
    st.caption(_outside_lines(result))
    st.plotly_chart(charts_refusal.refused_by_group(result), width="stretch", key=f"refusal-groups-{key}")
    st.plotly_chart(charts_refusal.shifts(result), width="stretch", key=f"refusal-shifts-{key}")
    with st.expander("Shift table"):
        st.dataframe(_shift_table(result), hide_index=True, width="stretch")


def refusal_section() -> None:
    st.subheader("What the gate refuses")
    st.caption(
        "An upload that is not a brain MRI slice must be refused, and a real scan must not be, whatever a hospital's "
        "export or a screenshot did to it. Images that are not brain MRI: real CT, X-ray, bone-scan, ultrasound and "
        "other-body MR images, photographs, microscopy, documents and patterns. Each image of another modality is also "
        "judged by a check that never learnt from it (the honest figure for a new image of a kind it knows), and each group "
        "by a check that never learnt from any of it (a kind of image it has not met). Real scans: ones neither the model "
        "nor the thresholds saw, as they are and under 23 shifts."
    )
    with st.expander("Measure it for the default model", icon=":material/rule:"):
        st.caption(
            "About a quarter of an hour on 2 cores: it decodes some 3,000 uploads and refits the check once per group and once per image of another modality."
        )
        if st.button("Start the measurement", icon=":material/play_arrow:", key="refusal.start"):
            with guarded("start the measurement"):
                jobview.start(RefusalRequest())
        jobview.show_latest("benchmark-refusal", None, key="refusal-job")
    own, reference = results("refusal")
    if not own:
        reference_notice("measurement")
    for i, result in enumerate(own[:1] + reference[:1]):
        show_result(result, key=str(i))
