"""Small layout helpers shared by pages: error display and byte formatting."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator

import streamlit as st

from dashboard import state
from engine.errors import EngineError
from engine.textutil import human_bytes  # noqa: F401 - re-exported for pages

logger = logging.getLogger("dashboard")

_MARKDOWN_SIGNS = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=^&])")


def plain(text: object) -> str:
    """``text`` with every Markdown sign escaped, for untrusted text (file names, DICOM values, error messages)
    inside a Streamlit element that renders Markdown: it shows as written, never as a link, image or colour."""
    return _MARKDOWN_SIGNS.sub(r"\\\1", str(text)).replace("\n", " ")


@contextlib.contextmanager
def guarded(action: str) -> Iterator[None]:
    """Show an EngineError as its own sentence and anything else as a short apology, never a traceback."""
    try:
        yield
    except EngineError as err:
        st.error(plain(err), icon=":material/error:")
    except Exception:  # noqa: BLE001 - the page must survive; the traceback goes to the log
        logger.exception("unexpected error while trying to %s", action)
        st.error(f"Sorry, something went wrong while trying to {action}. The details are in {state.log_path()}.", icon=":material/error:")
