"""Demo mode on the Overview page: one button, then each step live with its narration and its picture."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import charts, charts_ml, data_cache, jobview, state
from dashboard.ui import guarded, human_bytes
from engine.bench import demo
from engine.bench.reading import plain_reading
from engine.classes import CLASS_LABELS, CLASSES
from engine.jobs import store as jobs
from engine.jobs.requests import DemoRequest
from engine.ml import runs
from engine.numbers import probability as percent

# The page that shows each step in full (the engine knows nothing of pages).
STEP_PAGES = {
    "store": ("views/dataset.py", "Dataset page", ":material/photo_library:"),
    "blocks": ("views/hdfs.py", "HDFS page", ":material/storage:"),
    "preprocess": ("views/preprocess.py", "Preprocess page", ":material/tune:"),
    "train": ("views/train.py", "Train page", ":material/model_training:"),
    "speedup": ("views/speedup.py", "Speedup page", ":material/speed:"),
    "classify": ("views/classify.py", "Classify page", ":material/neurology:"),
}
STATUS_ICONS = {
    "waiting": ":material/schedule:",
    "running": ":material/progress_activity:",
    "done": ":material/check_circle:",
    "failed": ":material/error:",
    "stopped": ":material/cancel:",
}


def section() -> None:
    st.subheader("Demo mode")
    job = jobs.latest_job(state.settings(), "demo")
    running = job is not None and not job.status.finished
    left, right = st.columns([3, 1])
    left.write(
        f"One button runs the whole pipeline on the 40 shipped sample scans, in about a minute (the promise is "
        f"under {demo.BUDGET_S / 60:.0f} minutes on 2 cores): store in HDFS, blocks and replicas, Spark "
        "preprocessing, a short Elephas training run, a speed-up measurement, and a classified scan with its "
        f"heat map. It works on its own copy (dataset `{demo.DEMO_DATASET}` and its own models) and leaves "
        "your datasets, models and default model as they are."
    )
    if right.button("Run the demo", type="primary", icon=":material/play_arrow:", disabled=running, width="stretch"):
        jobview.start(DemoRequest())
        st.rerun()
    if running:
        _live()
    else:
        if job is not None and job.status in (jobs.JobStatus.FAILED, jobs.JobStatus.CANCELLED):
            st.warning(f"The last demo stopped: {job.error}", icon=":material/error:")
        _steps(demo.read_state(state.settings()))


@st.fragment(run_every=1.0)
def _live() -> None:
    job = jobs.latest_job(state.settings(), "demo")
    if job is None or job.status.finished:
        st.rerun()  # the whole page once, to draw the finished demo without the live refresh
    jobview.progress(job, lambda p: f"{p.get('message') or 'starting'} · {job.seconds or 0:.0f} s", "demo", "Stop the demo", scope="app")
    _steps(demo.read_state(state.settings()), live=True)


def _steps(demo_state: dict | None, live: bool = False) -> None:
    if demo_state is None:
        return
    if demo_state.get("ended") and not live:
        verdict = "within" if demo_state["seconds"] <= demo_state["budget_s"] else "over"
        st.caption(f"Last demo: {demo_state['seconds']:.0f} s in all ({verdict} the {demo_state['budget_s']:.0f} s budget).")
    for i, step in enumerate(demo_state["steps"], 1):
        if step["status"] == "waiting" and not live:
            continue
        with st.container(border=True):
            seconds = f" · {step['seconds']:.1f} s" if step["seconds"] is not None else ""
            st.markdown(f"{STATUS_ICONS[step['status']]} **{i}. {step['title']}**{seconds}")
            st.caption(step["narration"])
            if step["status"] == "running" and step["key"] == "train":
                _train_live()
            if step["status"] == "done" and step["result"]:
                DRAW[step["key"]](step["result"])
                page, label, icon = STEP_PAGES[step["key"]]
                st.page_link(page, label=f"Open the {label}", icon=icon)


def _store(r: dict) -> None:
    c = st.columns(3)
    c[0].metric("Scans stored", r["stored"])
    c[1].metric("Bytes", human_bytes(r["bytes"]))
    c[2].metric("Rejected", r["rejected"])
    cols = st.columns(len(CLASSES))
    for col, cls in zip(cols, CLASSES):  # one stored scan per class, as the Dataset page shows them
        first = sorted((demo.SAMPLE_DIR / "Training" / cls).glob("*.jpg"))[:1]
        if first:
            col.image(str(first[0]), caption=CLASS_LABELS[cls], width="stretch")


def _blocks(r: dict) -> None:
    left, right = st.columns(2)
    f = r["file"]
    with left:
        st.markdown(
            f"Packed copy `{Path(f['path']).name}`: {human_bytes(f['length'])} in {len(f['blocks'])} block(s) "
            f"of up to {human_bytes(f['block_size'])}, each on {f['replication']} DataNodes"
        )
        st.plotly_chart(charts.block_map(f, sorted(r["raw_replicas_per_datanode"])), width="stretch", key="demo-blocks")
    with right:
        replicas = r["raw_replicas_per_datanode"]
        st.markdown(f"Replicas of the {r['small_files']['raw_files']} one-per-scan files, per DataNode")
        st.plotly_chart(charts.datanode_usage([{"name": n, "blocks": c, "live": True} for n, c in replicas.items()]), width="stretch", key="demo-replicas")
        s = r["small_files"]
        st.caption(
            f"NameNode objects: {s['raw_namenode_objects']} for the separate files against "
            f"{s['packed_namenode_objects']} for the packed copy ({s['objects_saved_ratio']:.0f}x fewer)."
        )


def _preprocess(r: dict) -> None:
    c = st.columns(4)
    c[0].metric("Images prepared", r["images"])
    c[1].metric("Spark partitions", r["partitions"])
    c[2].metric("Output", human_bytes(r["bytes"]), help=r["output"])
    c[3].metric("HDFS blocks written", r["blocks"])
    with guarded("show a scan before and after"):
        before, after = data_cache.before_after(demo.DEMO_DATASET, demo.DEMO_SIZE)
        left, right, _ = st.columns([1, 1, 2])
        left.image(before, caption="as stored", width="stretch")
        right.image(after, caption=f"prepared by Spark ({demo.DEMO_SIZE} px)", width="stretch")
    if r["failed"]:
        st.warning(f"{len(r['failed'])} images could not be read and were skipped.")


def _train(r: dict) -> None:
    st.plotly_chart(charts_ml.training_curves(r["history"]), width="stretch", key="demo-curves")
    st.caption(
        f"Elephas {r['mode']} with {r['workers']} Spark workers, {r['epochs']} epochs on {r['train_images']} scans "
        f"({r['seconds']:.0f} s); validation accuracy on {r['val_images']} scans: {r['val_accuracy']:.0%}. "
        f"Registered as `{r['model_id']}` (not promoted)."
    )


def _train_live() -> None:
    """The demo's training run as it goes: its curves from the run folder, epoch by epoch."""
    run = next((x for x in runs.list_runs(state.settings()) if x["config"].get("dataset") == demo.DEMO_DATASET), None)
    history = runs.read_history(state.settings(), run["run_id"]) if run else []
    if history:
        st.plotly_chart(charts_ml.training_curves(history), width="stretch", key="demo-curves-live")
    else:
        st.caption("Spark is starting the Elephas workers; the first epoch's curve appears here when it ends.")


def _speedup(r: dict) -> None:
    left, right = st.columns([3, 2])
    seq = next(x["seconds_median"] for x in r["runs"] if x["method"] == "sequential")
    left.plotly_chart(charts_ml.time_vs_workers(r["runs"], seq), width="stretch", key="demo-speedup")
    right.dataframe(
        pd.DataFrame([{"method": x["method"], "workers": x["workers"], "seconds": x["seconds_median"]} for x in r["runs"]]), hide_index=True, width="stretch"
    )
    st.info(plain_reading(r), icon=":material/lightbulb:")


def _classify(r: dict) -> None:
    left, mid, right = st.columns([1, 1, 2])
    for col, key, caption in ((left, "scan_png", "the scan"), (mid, "heatmap_png", "Grad-CAM heat map")):
        if r.get(key) and Path(r[key]).exists():
            col.image(r[key], caption=caption, width="stretch")
    if r.get("label"):
        top = r["probabilities"][r["label"]]
        right.metric("Answer", CLASS_LABELS[r["label"]], help=f"model {r['model_id']}")
        right.progress(top, text=f"calibrated probability {percent(top)} · the scan's folder says {CLASS_LABELS[r['true_class']]}")
        if r.get("uncertain"):
            right.warning(r["reason"])
    else:
        right.warning(r.get("reason") or "No answer.")


DRAW = {"store": _store, "blocks": _blocks, "preprocess": _preprocess, "train": _train, "speedup": _speedup, "classify": _classify}
