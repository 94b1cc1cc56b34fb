"""Sections of the Dataset page: add data, statistics, sample grid, audit."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data_cache, jobview, state
from dashboard.ui import guarded, human_bytes
from engine.classes import CLASS_LABELS, CLASSES
from engine.jobs import uploads
from engine.jobs.requests import AuditRequest, FetchRequest, IngestRequest, StatsRequest
from engine.settings import REPO_ROOT


def _ingest_result(result: dict) -> None:
    st.success(
        f"Stored {result['stored']} new image(s) in **{result['dataset']}**, skipped {result['duplicates_skipped']} "
        f"already stored, rejected {len(result['rejected'])}."
    )
    if result["rejected"]:
        st.dataframe(pd.DataFrame(result["rejected"]), hide_index=True, width="stretch", height=min(300, 40 + 35 * len(result["rejected"])))


MODE_NAMES = {
    "L": "greyscale",
    "RGB": "colour (RGB)",
    "RGBA": "colour with alpha",
    "P": "palette",
    "I;16": "16-bit grey",
    "CMYK": "CMYK",
    "1": "black and white",
}


def add_data() -> None:
    with st.expander("Add data to HDFS", icon=":material/upload:", expanded=not data_cache.dataset_list()):
        name = st.text_input("Dataset name", value="my-scans", help="Letters, digits, '-' or '_'; new images are added to an existing dataset.")
        upload_tab, folder_tab, kaggle_tab = st.tabs(["Upload a .zip", "A folder on this machine", "Download from Kaggle"])
        with upload_tab:
            st.caption("A zip of `<class>/<image>` or `<split>/<class>/<image>` folders (e.g. Kaggle's Training/ and Testing/).")
            zipped = st.file_uploader("Zip archive", type=["zip"], key="dataset.zip")
            if st.button("Ingest the zip", disabled=zipped is None, icon=":material/cloud_upload:"):
                # Stored under a random name (an upload's name may carry a patient's) and deleted once ingested.
                target = uploads.save_upload(state.settings(), zipped.getvalue(), ".zip")
                jobview.start(IngestRequest(name, source=str(target), remove_source=True))
        with folder_tab:
            folder = st.text_input("Folder", value=str(REPO_ROOT / "assets" / "sample"))
            if st.button("Ingest the folder", icon=":material/drive_folder_upload:"):
                jobview.start(IngestRequest(name, source=folder))
        with kaggle_tab:
            st.caption("Downloads the public Brain Tumor MRI Dataset with kagglehub (needs internet).")
            if st.button("Download", icon=":material/download:"):
                jobview.start(FetchRequest())
            jobview.show_latest("dataset-fetch", key="fetch", on_result=lambda r: st.info(f"Downloaded to `{r['path']}`; ingest it from the folder tab."))
        jobview.show_latest(
            "dataset-ingest",
            on_result=_ingest_result,
            key="ingest",
            private=True,
            invalidates=(data_cache.dataset_list, data_cache.manifest, data_cache.small_files),
        )


def statistics(name: str) -> None:
    st.subheader("Statistics")
    stats = data_cache.stats(name)
    if st.button("Compute with Spark" if stats is None else "Recompute with Spark", icon=":material/bolt:", key="stats.run"):
        jobview.start(StatsRequest(name))
    jobview.show_latest("dataset-stats", name, key="stats", invalidates=(data_cache.stats,))
    if stats is None:
        st.caption("Not computed yet for this version of the dataset.")
        return
    c1, c2, c3 = st.columns(3)
    c1.metric("Images", f"{stats['images']:,}")
    c2.metric("Most common size", "{}×{}".format(*stats["dimensions"][0][:2]) if stats["dimensions"] else "—")
    c3.metric("Stored as", " · ".join(f"{n:,} {MODE_NAMES.get(m, m)}" for m, n in stats["modes"].items()))
    left, right = st.columns(2)
    left.markdown("**Images per class and split**")
    left.plotly_chart(charts.class_counts(stats), width="stretch")
    right.markdown("**Grey-level histogram per class**")
    right.plotly_chart(charts.intensity_histograms(stats), width="stretch")
    st.markdown("**File sizes**")
    st.plotly_chart(charts.file_sizes(stats), width="stretch")
    st.caption(f"Computed by Spark in {stats['seconds']} s at {stats['computed_at']}.")


def sample_grid(name: str, per_class: int = 6) -> None:
    from engine.data.datasets import thumbnail_paths

    st.subheader("Sample scans")
    paths = thumbnail_paths(data_cache.manifest(name), per_class=per_class)
    for cls in CLASSES:
        if not paths[cls]:
            continue
        st.markdown(f"**{CLASS_LABELS[cls]}**")
        cols = st.columns(per_class)
        for col, path in zip(cols, paths[cls]):
            with guarded(f"read {path}"):
                col.image(data_cache.thumbnail(path), caption=path.rsplit("/", 1)[-1], width="stretch")


def audit(name: str) -> None:
    st.subheader("Duplicate and leakage audit")
    st.caption(
        "Exact duplicates share a SHA-256; near duplicates have 256-bit perceptual hashes within a few bits. "
        "Duplicates that straddle a train/test split inflate accuracy; duplicates with different labels are label noise."
    )
    if st.button("Run the audit", icon=":material/fact_check:", key="audit.run"):
        jobview.start(AuditRequest(name))
    jobview.show_latest("dataset-audit", name, key="audit", invalidates=(data_cache.audit,))
    result = data_cache.audit(name)
    if result is None:
        st.caption("No audit yet for this dataset.")
        return
    c = st.columns(5)
    c[0].metric("Unique images", f"{result['unique_images']:,}", help="after merging exact and near duplicates")
    c[1].metric("Exact groups", result["exact_groups"], help=f"{result['exact_duplicate_images']} redundant copies")
    c[2].metric("Near groups", result["near_groups"], help=f"Hamming distance <= {result['threshold_bits']} bits")
    c[3].metric("Across splits", result["cross_split"])
    c[4].metric("Conflicting labels", result["conflicting_labels"])
    if result["exact_groups"] or result["near_groups"]:
        st.plotly_chart(charts.audit_per_class(result), width="stretch")
    else:
        st.success("No exact or near duplicates: every image is unique.", icon=":material/check_circle:")
    _not_brain_mri(result.get("not_brain_mri"))
    pairs = result["pairs"][:8]
    if pairs:
        st.markdown("**Examples** (label conflicts and cross-split pairs first)")
    for pair in pairs:
        cols = st.columns([1, 1, 2])
        for col, side in ((cols[0], "a"), (cols[1], "b")):
            with guarded("read a thumbnail"):
                col.image(data_cache.thumbnail(pair[side], 128), width=128)
        cols[2].markdown(
            f"{pair['kind']} duplicate, distance {pair['distance']} bits  \n"
            f"`{pair['a'].rsplit('/', 1)[-1]}` ({pair['split_a']}, {CLASS_LABELS[pair['class_a']]})  \n"
            f"`{pair['b'].rsplit('/', 1)[-1]}` ({pair['split_b']}, {CLASS_LABELS[pair['class_b']]})"
        )


def _not_brain_mri(found: dict | None) -> None:
    """The dataset's files that are another modality although filed under a class (audits since 2026-12-02)."""
    if not found or not found["images"]:
        return
    filed = ", ".join(f"{n} as {CLASS_LABELS[c]}" for c, n in found["per_class"].items() if n)
    st.warning(
        f"{found['images']} files ({found['distinct']} distinct images) are not brain MRI although the dataset files them ({filed}): "
        "head CT slices, listed in assets/data/not-brain-mri.json. The brain-MRI check learns them as CT, and the "
        "refusal figures count them apart from real scans.",
        icon=":material/warning:",
    )
    cols = st.columns(6)
    for col, path in zip(cols, found["paths"]):
        with guarded("read a thumbnail"):
            col.image(data_cache.thumbnail(path, 128), caption=path.rsplit("/", 1)[-1], width=128)


def describe_dataset(entry: dict) -> None:
    c = st.columns(6)
    c[0].metric("Images", f"{entry['images']:,}")
    c[1].metric("Size", human_bytes(entry["bytes"]))
    for col, cls in zip(c[2:], CLASSES):
        col.metric(CLASS_LABELS[cls], entry["per_class"][cls])
