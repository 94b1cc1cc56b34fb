"""Session-state keys (``"<page>.<name>"``) and the shared, cached engine handles."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from engine.settings import Settings, get_settings

HDFS_SELECTED_PATH = "hdfs.selected_path"
HDFS_FOLDER = "hdfs.folder"

_LOG_CONFIGURED = "_logging_configured"


@st.cache_resource
def settings() -> Settings:
    return get_settings()


def log_path() -> Path:
    return settings().run_dir / "dashboard.log"


@st.cache_resource
def configure_logging() -> Path:
    """Send the engine's and the dashboard's logs to <run_dir>/dashboard.log, once per server."""
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("engine", "dashboard"):
        log = logging.getLogger(name)
        log.setLevel(logging.INFO)
        log.addHandler(handler)
    return path


@st.cache_resource
def storage():
    """One WebHDFS client per server process (engine.storage.Storage)."""
    from engine.storage import Storage

    return Storage(settings())


DATASET_SELECTED = "dataset.selected"
HDFS_DEMO_SAMPLES = "hdfs.demo_samples"
