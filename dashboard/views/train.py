"""Train: start a training job (local Keras or Elephas on Spark) and watch its curves live."""

import os

import streamlit as st

from dashboard import charts_ml, data_cache, jobview, state
from engine import training

st.title("Train")
st.caption("A compact CNN (or ResNet50 transfer learning) trained on the prepared Parquet from HDFS, locally with Keras "
           "or distributed with Elephas. The validation split is stratified and keeps duplicates on one side.")

found = data_cache.datasets_or_stop("add one on the Dataset page, then preprocess it.")

# Plain widgets and a button, not st.form: in a form, Enter in any number field would start a training run.
with st.container(border=True):
    c = st.columns(4)
    name = c[0].selectbox("Dataset", [d["name"] for d in found])
    arch = c[1].selectbox("Architecture", ["compact", "resnet50"])
    mode = c[2].selectbox("Mode", ["local", "synchronous", "asynchronous", "hogwild"],
                          help="local: plain Keras; the others: Elephas on Spark")
    workers = c[3].number_input("Workers", 1, 16, min(2, os.cpu_count() or 1))
    c = st.columns(4)
    epochs = c[0].number_input("Epochs", 1, 500, 10)
    batch = c[1].number_input("Batch size", 4, 512, 32, help="images per step; synchronous workers share it (batch / workers "
                              "each), so their averaged epoch takes as many steps as plain Keras")
    lr = c[2].number_input("Peak learning rate", 1e-5, 1e-1, 2e-3, format="%.4f")
    size = c[3].number_input("Input size (px)", 32, 512, 128, step=16, help="the dataset must be preprocessed at this size")
    go = st.button("Start training", icon=":material/play_arrow:", type="primary")
if go:
    jobview.start(["train", name, "--arch", arch, "--mode", mode, "--workers", str(int(workers)), "--epochs", str(int(epochs)),
                   "--batch-size", str(int(batch)), "--learning-rate", str(lr), "--size", str(int(size))],
                  f"Train {arch} on {name} ({mode})")

jobview.show_latest(["train"], key="train", on_result=lambda card: st.success(
    f"Model **{card['model_id']}**: validation accuracy {card['validation']['accuracy']:.2%} "
    f"on {card['validation']['n']} images. See it on the Models page."))

runs = training.list_runs(state.settings())
unfinished = [r for r in runs if not r["state"].get("finished") and r["state"].get("epoch")]
if unfinished and st.button(f"Resume {unfinished[0]['run_id']} from epoch {unfinished[0]['state']['epoch']}", icon=":material/replay:"):
    jobview.start(["train", unfinished[0]["config"]["dataset"], "--resume", unfinished[0]["run_id"]], f"Resume {unfinished[0]['run_id']}")

if runs:
    st.subheader("Learning curves")
    # Keyed by the newest run, so a run started since shows at once instead of the one picked before it.
    run_id = st.selectbox("Run", [r["run_id"] for r in runs], key=f"train.run.{runs[0]['run_id']}",
                          format_func=lambda r: r + ("  (unfinished)" if not next(x for x in runs if x["run_id"] == r)["state"].get("finished") else ""))

    @st.fragment(run_every=3)
    def curves() -> None:
        history = training.read_history(state.settings(), run_id)
        if not history:
            st.caption("No finished epoch yet.")
            return
        last = history[-1]
        c = st.columns(4)
        c[0].metric("Epoch", last["epoch"])
        c[1].metric("Validation accuracy", f"{last.get('val_accuracy', 0):.2%}")
        c[2].metric("Training accuracy", f"{last.get('accuracy', 0):.2%}" if "accuracy" in last else "—")
        c[3].metric("Seconds per epoch", f"{last['seconds']:.0f}")
        st.plotly_chart(charts_ml.training_curves(history), width="stretch", key="train.curves")

    curves()
