"""Models page: the cross-validated estimate of the training recipe (what a new hospital can expect)."""

import pandas as pd
import streamlit as st

from dashboard import charts_cv, data_cache, jobview, state
from dashboard.reference_view import where
from dashboard.ui import guarded
from engine.bench.cv import saved_results
from engine.bench.preprocess import reference_benchmarks
from engine.jobs.requests import CrossValidationRequest
from engine.ml.intended_use import as_read
from engine.ml.test_time import how_read


def _fold_table(result: dict) -> pd.DataFrame:
    rows = []
    for f in result["folds"]:
        rows.append(
            {
                "fold": f["fold"],
                "scans": f["n"],
                "accuracy": f"{f['accuracy']:.2%}",
                **{f"{c} recall": f"{v:.1%}" for c, v in f["per_class"].items()},
                "ECE": f"{f['ece']:.3f}",
                "refused": f"{f['refused']['overall']:.2%}",
                **_brain_mri_columns(f),
                "flagged for review": f"{f['uncertain']:.1%}",
                "accuracy on answered": f"{f['accuracy_accepted']:.2%}",
            }
        )
    return pd.DataFrame(rows)


def _brain_mri_columns(fold: dict) -> dict:
    """False refusals of real brain MRI, and the dataset's own images that are not brain MRI refused (results
    measured before those were listed have neither)."""
    if "refused_brain_mri" not in fold:
        return {}
    ct = fold["not_brain_mri_in_fold"]
    return {"brain MRI refused": f"{fold['refused_brain_mri']['overall']:.2%}", "not brain MRI in the fold, refused": f"{ct['refused']} of {ct['n']}"}


def _refused_metric(column, result: dict) -> None:
    ref, mri = result["refused"], result.get("refused_brain_mri")
    if not mri:
        column.metric(
            "Real scans refused", f"{ref['mean']:.2%}", help=f"worst fold {ref['max']:.2%}; worst class in any fold {max(ref['per_class_max'].values()):.2%}"
        )
        return
    ct = result["not_brain_mri_in_dataset"]
    column.metric(
        "Real brain MRI refused",
        f"{mri['mean']:.2%}",
        help=f"worst fold {mri['max']:.2%}; worst class in any fold {max(mri['per_class_max'].values()):.2%}. Apart from these: "
        f"{ct['refused']} of the {ct['n']} head CT slices the dataset files as 'no tumour' were refused as not brain MRI, rightly "
        f"(all labelled scans together: {ref['mean']:.2%}).",
    )


def show_result(result: dict, key: str) -> None:
    result = as_read(result)  # the headline figures are those of the shipped reading
    done = f"{result['folds_done']} of {result['recipe']['folds']} folds" if not result.get("complete") else f"{result['recipe']['folds']} folds"
    st.caption(
        where(result, capital=True) + f" · {result['dataset']}, {result['n']:,} scans each tested once by a model that never saw it · {done}, "
        f"{result['recipe']['epochs']} epochs at {result['recipe']['size']} px"
    )
    if not result.get("complete"):
        st.warning(
            f"Incomplete: {done}. The figures cover {result['n']:,} scans; a run with the same recipe continues from the next fold.",
            icon=":material/hourglass_top:",
        )
    c = st.columns(4)
    acc = result["accuracy"]
    c[0].metric("Accuracy (mean of folds)", f"{acc['mean']:.2%}", help=f"lowest fold {acc['min']:.2%}, highest {acc['max']:.2%}")
    c[1].metric("Lowest class recall", f"{min(v['min'] for v in result['per_class_recall'].values()):.1%}", help="the worst class in the worst fold")
    _refused_metric(c[2], result)
    c[3].metric("Calibration error (ECE)", f"{result['ece']['mean']:.3f}", help=f"worst fold {result['ece']['max']:.3f}")
    left, right = st.columns(2)
    left.plotly_chart(charts_cv.cv_recall(result), width="stretch", key=f"cv-recall-{key}")
    right.plotly_chart(charts_cv.cv_refusals(result), width="stretch", key=f"cv-refused-{key}")
    st.dataframe(_fold_table(result), hide_index=True, width="stretch")
    read = result.get("read")
    if read:
        plain = read.get("one_reading_accuracy")
        st.caption(
            f"Read as the shipped model reads: each scan {how_read(read.get('rim', 1.0))} and mirrored, the two readings averaged, "
            "with calibration and thresholds fitted inside each fold on readings made the same way"
            + (f"; the same models reading each scan once: accuracy {plain:.2%}." if plain is not None else ".")
        )


def cv_section() -> None:
    st.subheader("What a new hospital can expect")
    st.caption(
        "Cross-validation: the scans are split into folds (duplicates kept together, classes balanced). Each fold is "
        "tested by a model trained on the others, with its calibration and refusal thresholds fitted on part of "
        "those others only, and put through the same checks as an upload. Figures measured on the split that chose "
        "a model are optimistic; these are not."
    )
    with st.expander("Cross-validate a dataset", icon=":material/fact_check:"):
        found = data_cache.dataset_list()
        c = st.columns(3)
        name = c[0].selectbox("Dataset", [d["name"] for d in found] or ["—"], key="cv.dataset", help="preprocessed at 128 px")
        folds = c[1].number_input("Folds", 2, 10, 5, key="cv.folds")
        epochs = c[2].number_input("Epochs per fold", 1, 200, 30, key="cv.epochs", help="the training recipe's 30 by default")
        st.caption(
            "Each fold trains a model: on 2 cores the full Kaggle set takes about an hour a fold at 30 epochs. A stopped run continues from its last epoch."
        )
        if st.button("Start cross-validation", icon=":material/play_arrow:", disabled=not found):
            with guarded("start the cross-validation"):
                jobview.start(CrossValidationRequest(name, folds=int(folds), epochs=int(epochs)))
        jobview.show_latest("benchmark-cv", None, key="cv-job")
    own: list[dict] = []
    with guarded("read the cross-validations"):
        own = saved_results(state.settings(), state.storage())
    shown = own[:1] + reference_benchmarks("cv")[:1]
    if not shown:
        st.info("No cross-validation yet: start one above.")
    for i, result in enumerate(shown):
        show_result(result, key=str(i))
