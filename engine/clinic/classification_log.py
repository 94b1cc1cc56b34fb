"""The classification audit log: one JSON line per answer, appended under a file lock, with no patient data.

Each entry: time, SHA-256 of the uploaded bytes, model id, label, probabilities, flags and reason.
Never a file name (it may carry a patient's name) and never pixels.
"""

from __future__ import annotations

import fcntl
import json
import time
from pathlib import Path

from engine.settings import Settings
from engine.textutil import read_jsonl

FIELDS = ("time", "sha256", "model", "label", "probabilities", "uncertain", "rejected", "reason", "source")


def log_path(settings: Settings) -> Path:
    return settings.run_dir / "audit" / "classifications.jsonl"


def append(settings: Settings, entries: list[dict]) -> None:
    """Append entries atomically with respect to other processes (flock), so none is lost or doubled."""
    path = log_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps({k: e.get(k) for k in FIELDS}) + "\n" for e in entries)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.write(lines)
            fh.flush()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read(settings: Settings, limit: int | None = None) -> list[dict]:
    return read_jsonl(log_path(settings), limit)


def entry(result: dict, model_id: str, source: str) -> dict:
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sha256": result.get("sha256"),
        "model": model_id,
        "label": result.get("label"),
        "probabilities": result.get("probabilities"),
        "uncertain": result.get("uncertain"),
        "rejected": result.get("rejected"),
        "reason": result.get("reason"),
        "source": source,
    }
