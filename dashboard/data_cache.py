"""Small cached reads for pages (st.cache_data with a TTL); heavy work stays in engine jobs."""

from __future__ import annotations

import io
import json

import streamlit as st
from PIL import Image

from dashboard import state
from engine.data import datasets
from engine.data.stats import load_stats
from engine.errors import NotFoundError
from engine.png import png_bytes


@st.cache_data(ttl=10, show_spinner=False)
def dataset_list() -> list[dict]:
    return datasets.list_datasets(state.storage())


@st.cache_data(ttl=10, show_spinner=False)
def models(hdfs_live: bool) -> list[dict]:
    """Every model's card (the registry reads one card per model from HDFS: too slow to repeat every few seconds)."""
    from engine.ml import registry

    return registry.list_models(state.settings(), state.storage() if hdfs_live else None)


@st.cache_data(ttl=30, show_spinner=False)
def manifest(name: str):
    return datasets.read_manifest(state.storage(), name)


@st.cache_data(ttl=30, show_spinner=False)
def stats(name: str) -> dict | None:
    return load_stats(state.storage(), name)


@st.cache_data(ttl=30, show_spinner=False)
def audit(name: str) -> dict | None:
    try:
        return json.loads(state.storage().read(datasets.audit_path(name)))
    except NotFoundError:
        return None


@st.cache_data(ttl=600, show_spinner=False, max_entries=500)
def thumbnail(hdfs_path: str, size: int = 160) -> bytes:
    """A small PNG of a stored scan, read from HDFS."""
    return thumbnail_bytes(Image.open(io.BytesIO(state.storage().read(hdfs_path))).convert("L"), size)


@st.cache_data(ttl=600, show_spinner=False, max_entries=50)
def before_after(name: str, size: int) -> tuple[bytes, bytes]:
    """PNGs of a dataset's first glioma scan as stored and as the one per-image function prepares it."""
    from engine.data.pixels import prepare_image

    frame = manifest(name)
    rows = frame[frame["class"] == "glioma"] if (frame["class"] == "glioma").any() else frame
    raw = state.storage().read(rows.sort_values("path").iloc[0]["path"])
    prepared = Image.fromarray(prepare_image(raw, size)[..., 0], mode="L")
    return thumbnail_bytes(Image.open(io.BytesIO(raw)).convert("L"), 256), thumbnail_bytes(prepared.resize((256, 256), Image.Resampling.NEAREST), 256)


def thumbnail_bytes(img: Image.Image, size: int) -> bytes:
    img = img.copy()
    img.thumbnail((size, size))
    return png_bytes(img)


@st.cache_data(ttl=30, show_spinner=False)
def small_files(name: str) -> dict:
    frame = manifest(name)
    packed = [e["length"] for e in state.storage().parquet_parts(datasets.packed_dir(name))]
    return datasets.small_files_report(frame, state.settings().block_size, packed)


def datasets_or_stop(hint: str) -> list[dict]:
    """The datasets in HDFS; when there are none (or HDFS fails), say so with ``hint`` and stop the page."""
    from dashboard.ui import guarded

    found: list[dict] = []
    with guarded("list the datasets"):
        found = dataset_list()
    if not found:
        st.info(f"No dataset yet: {hint}")
        st.stop()
    return found
