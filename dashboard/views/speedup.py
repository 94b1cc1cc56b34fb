"""Speedup: measured sequential vs parallel preprocessing, where the time goes, and Amdahl's law."""

import os

import pandas as pd
import streamlit as st

from dashboard import charts_ml, data_cache, jobview, reference_view
from engine.bench.reading import caveats, fit_is_meaningful, plain_reading
from engine.errors import InputError
from engine.jobs.requests import PreprocessBenchmarkRequest, parse_counts

st.title("Speedup")
st.caption(
    "Real measurements on this machine: the same images prepared sequentially, by a process pool, and by Spark "
    "at 1..K workers, back to back. Medians of repeated runs."
)

with st.expander("Run a new measurement", icon=":material/timer:"):
    found = data_cache.dataset_list()
    c = st.columns(3)
    name = c[0].selectbox("Dataset", [d["name"] for d in found] or ["—"])
    repeat = c[1].number_input("Repeats", 1, 10, 3)
    workers = c[2].text_input("Workers", ",".join(str(k) for k in range(1, (os.cpu_count() or 1) + 1)))
    if st.button("Measure", icon=":material/play_arrow:", disabled=not found):
        try:
            jobview.start(PreprocessBenchmarkRequest(name, int(repeat), parse_counts(workers, "Workers")))
        except InputError as err:
            st.error(str(err))
    jobview.show_latest("benchmark-preprocess", key="bench")

own, refs = reference_view.results("preprocess")
if not own and not refs:
    st.info("No measurement yet. Run one above (the shipped sample takes about a minute; the full Kaggle set several).")
    st.stop()
if not own:
    reference_view.reference_notice("measurement")
else:
    st.subheader("Yours beside the reference")
    for col, r, k in zip(st.columns(1 + bool(refs)), [own[0]] + refs[:1], ("own", "ref")):
        seq_r = next(x for x in r["runs"] if x["method"] == "sequential")["seconds_median"]
        col.caption(reference_view.where(r, capital=True) + f" · {r['dataset']}, {r['images']:,} images")
        col.plotly_chart(charts_ml.speedup_chart(r["runs"], seq_r), width="stretch", key=f"speed.side.{k}")
        col.markdown(plain_reading(r))

results = own + refs
labels = {
    f"{'Reference · ' if r.get('reference') else ''}{r['dataset']} · {r['images']:,} images · {r['created']}": r for r in results
}  # the user's newest first, then the references
r = labels[st.selectbox("Measurement", list(labels))]
runs = r["runs"]
seq = next(x for x in runs if x["method"] == "sequential")["seconds_median"]

st.caption(reference_view.where(r, capital=True))
st.info(plain_reading(r), icon=":material/lightbulb:")
for caveat in caveats(r):
    st.warning(caveat, icon=":material/warning:")


def chart_with_table(fig, table: pd.DataFrame, key: str) -> None:
    left, right = st.columns([3, 2])
    left.plotly_chart(fig, width="stretch", key=key)
    right.dataframe(table, hide_index=True, width="stretch", height=38 + 35 * len(table))  # every row, no scrolling


table = pd.DataFrame([{"method": x["method"], "input": x["input"], "workers": x["workers"], "seconds": round(x["seconds_median"], 2)} for x in runs])
st.subheader("Time against workers")
chart_with_table(charts_ml.time_vs_workers(runs, seq), table, "speed.time")
st.subheader("Speed-up over the sequential loop")
raw = pd.Series([x["seconds_median"] for x in runs])  # unrounded, for the ratios
sp = table.assign(speedup=(seq / raw).round(2), efficiency=(seq / raw / table["workers"]).round(2))
chart_with_table(charts_ml.speedup_chart(runs, seq), sp[["method", "input", "workers", "speedup"]], "speed.sp")
st.subheader("Efficiency")
chart_with_table(charts_ml.efficiency_chart(runs, seq), sp[["method", "input", "workers", "efficiency"]], "speed.eff")
st.subheader("Where Spark's time goes")
bd = pd.DataFrame([{"run": f"{x['method']} {x['input']} x{x['workers']}", **x["breakdown"]} for x in runs if x["method"].startswith("spark")])
chart_with_table(charts_ml.breakdown_chart(runs), bd.round(2), "speed.bd")
a = r.get("amdahl", {})
st.subheader("Amdahl's law: what more workers would buy")
if fit_is_meaningful(a):
    st.plotly_chart(charts_ml.amdahl_chart(a, max(x["workers"] for x in runs)), width="stretch", key="speed.amdahl")
    st.caption(
        f"A model fitted to the measured compute stage ({a['fitted_on']}): serial fraction {a['serial_fraction']:.2f} "
        f"(95% CI {a['serial_fraction_ci95'][0]:.2f}–{a['serial_fraction_ci95'][1]:.2f}). The part that cannot run in "
        "parallel caps the speed-up however many workers join; beyond the shaded range it is a projection, not a measurement."
    )
else:
    st.caption(
        "No projection: this measurement does not pin the serial fraction down (too little data, one repeat or one "
        "worker count). Measure a larger dataset at 1 and 2 workers with 3 repeats."
    )

st.subheader("Training: plain Keras against Elephas")
trains_own, trains_ref = reference_view.results("train")
trains = trains_own[:1] + trains_ref[:1]
if not trains:
    st.caption("No training experiment yet: `python -m engine benchmark train DATASET --workers 1,2 --epochs 3`.")
else:
    if not trains_own:
        reference_view.reference_notice("training experiment")
    for t in trains:
        tt = pd.DataFrame(
            [
                {
                    "method": x["method"],
                    "workers": x["workers"],
                    "seconds per epoch": x["seconds_median"],
                    "images/s": x["images_per_second"],
                    "time vs Keras": x["time_vs_keras"],
                    "val accuracy": round(x["val_accuracy"], 4),
                }
                for x in t["runs"]
            ]
        )
        st.caption(f"{reference_view.where(t, capital=True)} · {t['dataset']}, {t['epochs']} epochs per run.")
        chart_with_table(charts_ml.train_comparison(t["runs"]), tt, f"speed.train.{t.get('reference', False)}")
        if any("worker_fit_seconds_median" in x for x in t["runs"]):
            st.markdown(
                "**Where an epoch goes.** Elephas workers train their share of the images at once; the driver then averages "
                "their weights, re-estimates BatchNorm statistics, validates and checkpoints."
            )
            parts = pd.DataFrame(
                [
                    {
                        "run": f"{x['method']} x{x['workers']}",
                        "seconds per epoch": x["seconds_median"],
                        "workers' set-up": x.get("worker_setup_seconds_median"),
                        "workers' fit": x.get("worker_fit_seconds_median"),
                        "driver": x.get("driver_seconds_median"),
                    }
                    for x in t["runs"]
                ]
            )
            chart_with_table(charts_ml.train_breakdown(t["runs"]), parts, f"speed.train_parts.{t.get('reference', False)}")
