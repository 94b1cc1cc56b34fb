"""Small shared helpers for people-facing text and JSON-lines files."""

from __future__ import annotations

import json
import os
from pathlib import Path


def human_bytes(n: float | None) -> str:
    """1536 -> '1.5 KiB'; None -> '—'."""
    if n is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    """The JSON objects of a JSON-lines file (a torn or bad line is skipped); [] when absent."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    rows = []
    for line in lines[-limit:] if limit else lines:
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def write_json_atomic(path: Path, data) -> None:
    """Write JSON via a temporary file and a rename, so readers never see half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)
