"""Reference measurements shipped in assets/reference/ beside the user's own: labels and the transfer curve."""

import pandas as pd
import streamlit as st

from dashboard import charts_ml, data_cache, jobview, state
from dashboard.ui import guarded
from engine.bench.adapt import plain_reading as adapt_reading
from engine.bench.preprocess import list_benchmarks, reference_benchmarks
from engine.errors import InputError
from engine.jobs.requests import AdaptBenchmarkRequest, parse_counts


def where(r: dict, capital: bool = False) -> str:
    """'reference measured by the project on 2 cores / 24 GiB, 2026-12-01 12:30' or 'yours, 2 cores / 24 GiB, ...'."""
    m = r.get("machine") or {}
    machine = f"{m['cores']} cores / {m['memory_gib']} GiB, " if m.get("cores") else ""
    text = f"reference measured by the project on {machine}{r.get('created', '')}" if r.get("reference") else f"yours, {machine}{r.get('created', '')}"
    return text[0].upper() + text[1:] if capital else text


def results(kind: str) -> tuple[list[dict], list[dict]]:
    """(the user's own results, the shipped references) of one kind, newest first."""
    own: list[dict] = []
    with guarded("read the saved measurements"):
        own = list_benchmarks(state.settings(), state.storage(), kind=kind)
    return own, reference_benchmarks(kind)


def reference_notice(kind_text: str) -> None:
    st.info(
        f"Showing the **reference** {kind_text} shipped with the project, measured on the project's own machine; "
        "run your own above and both show side by side. Absolute seconds differ between machines; the shapes "
        "(who wins, by how much, where the time goes) are what to compare.",
        icon=":material/school:",
    )


def adapt_result(r: dict, key: str) -> None:
    st.caption(where(r, capital=True) + f" · {r['dataset']}, {r['parts']['test']:,} test scans")
    st.plotly_chart(charts_ml.adapt_curve(r), width="stretch", key=key)
    st.markdown(adapt_reading(r))


def adapt_section() -> None:
    """Models page: measure and show what transfer buys (scratch against adapted, per labelled scans per class)."""
    st.subheader("What transfer buys")
    st.caption(
        "A starting model trains on part of a dataset; the other part stands in for a hospital's own scans. With "
        "a few labelled scans per class, a model trained from scratch is compared with the starting model adapted "
        "(head first, then every layer), both measured on scans neither trained on."
    )
    with st.expander("Measure on a dataset", icon=":material/timer:"):
        found = data_cache.dataset_list()
        c = st.columns(3)
        name = c[0].selectbox(
            "Dataset",
            [d["name"] for d in found] or ["—"],
            key="adapt.dataset",
            help="preprocessed at 128 px; the full Kaggle set takes about 10 minutes on 2 cores",
        )
        per_class = c[1].text_input("Scans per class", "10,25,50,100", key="adapt.per_class")
        epochs = c[2].number_input("Epochs per run", 3, 100, 20, key="adapt.epochs")
        if st.button("Measure", icon=":material/play_arrow:", disabled=not found, key="adapt.go"):
            try:
                jobview.start(AdaptBenchmarkRequest(name, parse_counts(per_class, "Scans per class"), int(epochs)))
            except InputError as err:
                st.error(str(err))
        jobview.show_latest("benchmark-adapt", key="adapt")
    own, refs = results("adapt")
    if not own and not refs:
        st.caption("No measurement yet.")
        return
    if not own:
        reference_notice("learning curve")
        adapt_result(refs[0], "adapt.ref")
        return
    shown = [own[0]] + refs[:1]
    for col, r, k in zip(st.columns(len(shown)), shown, ("adapt.own", "adapt.ref")):
        with col:
            adapt_result(r, k)
    table = pd.DataFrame(
        [
            {"per class": x["per_class"], "method": x["method"], "images": x["images"], "accuracy": round(x["accuracy"], 4), "seconds": x["seconds"]}
            for x in own[0]["runs"]
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
