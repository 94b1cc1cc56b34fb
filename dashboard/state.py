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
def keep_keras_state() -> bool:
    """Stop Streamlit from calling ``keras.backend.clear_session()`` after every script run, once per server.

    Streamlit does it after every run, fragment ticks included, and with TensorFlow loaded each call (it
    ends in a full garbage collection) costs tens of milliseconds of CPU: five open sessions kept two cores
    busy and new visitors waited for the page. It also resets Keras' global state while another session's
    thread may be using the cached model. The dashboard only loads models once and never builds one, so
    there is nothing to clear. (We do not use matplotlib, the other module that hook cleans.)
    """
    from streamlit.runtime.scriptrunner import script_runner

    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = lambda: None
        return True
    return False


@st.cache_resource
def storage():
    """One WebHDFS client per server process (engine.hdfs.storage.Storage)."""
    from engine.hdfs.storage import Storage

    return Storage(settings())


DATASET_SELECTED = "dataset.selected"
HDFS_DEMO_SAMPLES = "hdfs.demo_samples"
