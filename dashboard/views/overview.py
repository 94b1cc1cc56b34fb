"""Overview: what the system does, the live state of each part, and the next useful action."""

import streamlit as st

from dashboard import health, state
from dashboard.ui import guarded
from engine import jobs

st.title("Brain MRI classification on HDFS, Spark and Elephas")
st.caption("Scans are stored in HDFS, preprocessed with Spark, and used to train a Keras classifier "
           "distributed with Elephas, which sorts them into glioma, meningioma, no tumour and pituitary.")

st.graphviz_chart("""
digraph {
  rankdir=LR; bgcolor="transparent";
  node [shape=box style="rounded,filled" fillcolor="#eef3fb" color="#4C78A8" fontname="sans-serif"];
  scan [label="MRI scans"]; hdfs [label="HDFS\\nblocks × replicas"]; spark [label="Spark\\npreprocessing"];
  elephas [label="Elephas\\ndistributed training"]; model [label="Model\\nregistry"]; clinic [label="Clinician\\nclassify + explain"];
  scan -> hdfs -> spark -> elephas -> model -> clinic;
}
""", width="stretch")

with guarded("read the cluster state"):
    status = health.cluster_status()
    nn = status["namenode"]
    recent = jobs.list_jobs(state.settings(), limit=20)
    running = [j for j in recent if j.status == jobs.JobStatus.RUNNING]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("NameNode", "live" if nn["live"] else "down")
    c2.metric("DataNodes live", f"{sum(d['live'] for d in status['datanodes'])}/{len(status['datanodes'])}")
    c3.metric("HDFS files and folders", nn.get("files_and_dirs", "—"))
    c4.metric("Jobs running", len(running))

    st.subheader("Next step")
    if not nn["live"]:
        st.warning("HDFS is not answering. Run `./run.sh` in the project folder; it starts a NameNode and "
                   "DataNodes on this machine and waits until they are ready.")
    else:
        st.success("HDFS is up. Open **HDFS** to see how files are cut into blocks and replicated across DataNodes.")
        st.page_link("views/hdfs.py", label="Browse HDFS", icon=":material/storage:")
