"""Overview: what the system does, the live state of each part, and the next useful action."""

import streamlit as st

from dashboard import data_cache, demo_view, health, state
from dashboard.ui import guarded
from engine.jobs import store as jobs
from engine.ml import registry

st.title("Brain MRI classification on HDFS, Spark and Elephas")
st.caption(
    "Scans are stored in HDFS, preprocessed with Spark, and used to train a Keras classifier "
    "distributed with Elephas, which sorts them into glioma, meningioma, no tumour and pituitary."
)

st.graphviz_chart(
    """
digraph {
  rankdir=LR; bgcolor="transparent";
  node [shape=box style="rounded,filled" fillcolor="#eef3fb" color="#4C78A8" fontname="sans-serif"];
  scan [label="MRI scans"]; hdfs [label="HDFS\\nblocks × replicas"]; spark [label="Spark\\npreprocessing"];
  elephas [label="Elephas\\ndistributed training"]; model [label="Model\\nregistry"]; clinic [label="Clinician\\nclassify + explain"];
  scan -> hdfs -> spark -> elephas -> model -> clinic;
}
""",
    width="stretch",
)


def default_model_figure(model_id: str | None, card: dict | None) -> tuple[str, str | None]:
    """The default model's headline accuracy and its help: cross-validated when its card has it (the validation
    split chose the model, so its figure is an upper bound)."""
    if card is None:
        return "none", None
    cv, split = card.get("cross_validation"), card["validation"]["accuracy"]
    if cv:
        return (
            f"{cv['accuracy']:.1%}",
            f"{model_id}: cross-validated accuracy ({cv['folds_done']} of {cv['folds']} folds); {split:.1%} on its validation split, an upper bound",
        )
    return f"{split:.1%}", f"{model_id}: accuracy on its validation split (an upper bound until it is cross-validated: `mri models cv`)"


@st.fragment(run_every=3)
def live_state() -> None:
    """The system's state, redrawn every 3 s: a demo or job started on this page shows up while it runs."""
    with guarded("read the cluster state"):
        status = health.cluster_status()
        nn = status["namenode"]
        recent = jobs.list_jobs(state.settings(), limit=20)
        running = [j for j in recent if not j.status.finished]  # queued ones too: they are about to run
        found = data_cache.dataset_list() if nn["live"] else []
        default = registry.default_model_id(state.settings())
        cards = data_cache.models(nn["live"])
        default_card = next((c for c in cards if c["model_id"] == default), None)
        c = st.columns(5)
        c[0].metric("HDFS", "live" if nn["live"] else "down", help=f"{sum(d['live'] for d in status['datanodes'])}/{len(status['datanodes'])} DataNodes live")
        c[1].metric("Datasets", len(found), help=", ".join(f"{d['name']} ({d['images']})" for d in found) or None)
        c[2].metric("Images in HDFS", f"{sum(d['images'] for d in found):,}")
        accuracy, accuracy_help = default_model_figure(default, default_card)
        c[3].metric("Default model", accuracy, help=accuracy_help)
        c[4].metric("Jobs running", len(running))

        st.subheader("Next step")
        if not nn["live"]:
            st.warning(
                "HDFS is not answering. Run `./run.sh` in the project folder; it starts a NameNode and "
                "DataNodes on this machine and waits until they are ready."
            )
        elif not found:
            st.info("HDFS is up but holds no scans yet: add the shipped sample or your own zip.")
            st.page_link("views/dataset.py", label="Add data", icon=":material/photo_library:")
        elif default_card is None:
            st.info("Data is in HDFS. Prepare it with Spark, then train a model.")
            st.page_link("views/preprocess.py", label="Preprocess", icon=":material/tune:")
        else:
            st.success("Everything is in place: classify a scan, or see what Spark and HDFS do on the way.")
            cols = st.columns(4)
            with cols[0]:
                st.page_link("views/classify.py", label="Classify a scan", icon=":material/neurology:")
            with cols[1]:
                st.page_link("views/hdfs.py", label="See blocks and replicas", icon=":material/storage:")
            with cols[2]:
                st.page_link("views/speedup.py", label="Measure the speed-up", icon=":material/speed:")
            with cols[3]:
                st.page_link("views/dataset.py", label="Audit the data", icon=":material/fact_check:")


live_state()

st.divider()
with guarded("show Demo mode"):
    demo_view.section()
