"""HDFS: browse folders, see a file cut into blocks and where each replica lives, and the DataNodes."""

import posixpath

import pandas as pd
import streamlit as st

from dashboard import charts, health, state
from dashboard.ui import guarded, human_bytes
from engine.storage import Storage

st.title("HDFS")
st.caption("Files in HDFS are cut into fixed-size blocks; each block is copied to several DataNodes "
           f"(replication {state.settings().replication}), so a file survives the loss of a machine.")


@st.cache_resource
def storage() -> Storage:
    return Storage(state.settings())


folder = st.session_state.setdefault(state.HDFS_FOLDER, "/")
top = st.columns([4, 1])
new_folder = top[0].text_input("Folder", value=folder, help="An HDFS path such as /mri/datasets")
if new_folder != folder:
    st.session_state[state.HDFS_FOLDER] = folder = new_folder or "/"
if top[1].button("Up", icon=":material/arrow_upward:", disabled=folder == "/", width="stretch"):
    st.session_state[state.HDFS_FOLDER] = posixpath.dirname(folder.rstrip("/")) or "/"
    st.rerun()

with guarded(f"list {folder}"):
    entries = storage().list(folder)
    if not entries:
        st.info(f"{folder} is empty.")
    else:
        table = pd.DataFrame([{
            "kind": "folder" if e["type"] == "directory" else "file", "name": e["name"],
            "size": human_bytes(e["length"]) if e["type"] == "file" else "",
            "replication": str(e["replication"]) if e["type"] == "file" else "", "path": e["path"], "type": e["type"],
        } for e in entries])
        picked = st.dataframe(table[["kind", "name", "size", "replication"]], hide_index=True, width="stretch",
                              on_select="rerun", selection_mode="single-row", key="hdfs.table")
        rows = picked.selection.rows if picked else []
        if rows:
            entry = table.iloc[rows[0]]
            if entry["type"] == "directory":
                st.session_state[state.HDFS_FOLDER] = entry["path"]
                st.rerun()
            st.session_state[state.HDFS_SELECTED_PATH] = entry["path"]

selected = st.session_state.get(state.HDFS_SELECTED_PATH)
if selected and posixpath.dirname(selected) == (folder.rstrip("/") or "/"):
    with guarded(f"read the blocks of {selected}"):
        info = storage().blocks(selected)
        st.subheader(f"Blocks of {selected}")
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Size", human_bytes(info["length"]))
        c2.metric("Block size", human_bytes(info["block_size"]))
        c3.metric("Blocks", len(info["blocks"]))
        c4.metric("Replication", info["replication"])
        names = [d["name"] for d in health.cluster_status()["datanodes"]]
        st.plotly_chart(charts.block_map(info, names), width="stretch")
        st.dataframe(pd.DataFrame([{"block": f"blk_{b['block_id']}", "offset": b["offset"], "length": b["length"],
                                    "replicas on": ", ".join(b["hosts"])} for b in info["blocks"]]),
                     hide_index=True, width="stretch")

st.subheader("DataNodes")
with guarded("read the DataNodes"):
    status = health.cluster_status()
    if status["datanodes"]:
        st.dataframe(pd.DataFrame([{
            "DataNode": d["name"], "address": d["host"], "state": "live" if d["live"] else "dead",
            "blocks": d.get("blocks"), "used": human_bytes(d.get("used_bytes")),
            "capacity": human_bytes(d.get("capacity_bytes")),
        } for d in status["datanodes"]]), hide_index=True, width="stretch")
        st.plotly_chart(charts.datanode_usage(status["datanodes"]), width="stretch")
    else:
        st.info("No DataNode is known to the NameNode.")
