"""Training run folders: ``<run_dir>/training/<run_id>/`` holds ``config.json``, ``history.jsonl`` (one line per
epoch, read live by the Train page), ``checkpoint.keras`` + ``state.json`` (for ``--resume``) and, when done, the
model folder that is registered in ``/mri/models/<run_id>/``."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from engine.errors import NotFoundError
from engine.ml.config import TrainConfig
from engine.settings import Settings
from engine.textutil import read_jsonl


def run_dir(settings: Settings, run_id: str) -> Path:
    return settings.run_dir / "training" / run_id


def read_history(settings: Settings, run_id: str) -> list[dict]:
    return read_jsonl(run_dir(settings, run_id) / "history.jsonl")


def list_runs(settings: Settings) -> list[dict]:
    """Training runs on this machine, newest first, with their config and state."""
    root = settings.run_dir / "training"
    if not root.is_dir():
        return []
    runs = []
    # Newest first by when the run started (its config), not by name: names begin with the architecture and dataset.
    folders = [f for f in root.iterdir() if (f / "config.json").is_file()]
    for folder in sorted(folders, key=lambda f: (f / "config.json").stat().st_mtime, reverse=True):
        try:
            config = json.loads((folder / "config.json").read_text())
            state = json.loads((folder / "state.json").read_text()) if (folder / "state.json").exists() else {}
        except (OSError, ValueError):
            continue
        runs.append({"run_id": folder.name, "config": config, "state": state})
    return runs


def latest_unfinished(settings: Settings, dataset: str) -> str | None:
    for run in list_runs(settings):
        if run["config"].get("dataset") == dataset and not run["state"].get("finished"):
            return run["run_id"]
    return None


def open_run(settings: Settings, config: TrainConfig, resume: str | None) -> tuple[TrainConfig, str, Path, dict]:
    """A new run folder, or the saved config and state of the run ``resume`` names ("latest": the newest unfinished)."""
    if resume == "latest":
        resume = latest_unfinished(settings, config.dataset)
        if resume is None:
            raise NotFoundError(f"There is no unfinished training run of {config.dataset!r} to resume.")
    if resume:
        folder = run_dir(settings, resume)
        if not (folder / "config.json").exists():
            raise NotFoundError(f"There is no training run {resume!r} under {folder.parent}.")
        state = json.loads((folder / "state.json").read_text()) if (folder / "state.json").exists() else {}
        saved = json.loads((folder / "config.json").read_text())
        config = TrainConfig(**{k: v for k, v in saved.items() if k in {f.name for f in dataclasses.fields(TrainConfig)}})
        return config.validate(), resume, folder, state
    stem = f"{config.arch}-adapted" if config.init_from else config.arch
    run_id = f"{stem}-{config.dataset}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder = run_dir(settings, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1, default=str))
    return config, run_id, folder, {}
