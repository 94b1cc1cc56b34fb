"""The model registry: models in HDFS under /mri/models/<id>/, the shipped one in assets/models/, a local cache.

Each model folder holds ``model.keras``, ``card.json`` (classes, input, architecture, data digest,
validation metrics, temperature, date) and ``config.json`` (the training config).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from engine.errors import InputError, NotFoundError
from engine.settings import REPO_ROOT, Settings
from engine.storage import Storage

logger = logging.getLogger(__name__)

MODELS_ROOT = "/mri/models"
SHIPPED_DIR = REPO_ROOT / "assets" / "models"
FILES = ("model.keras", "card.json", "config.json", "ood.json")


def local_dir(settings: Settings, model_id: str) -> Path:
    return settings.run_dir / "models" / model_id


def shipped_models() -> list[Path]:
    return sorted(p for p in SHIPPED_DIR.iterdir() if (p / "card.json").is_file()) if SHIPPED_DIR.is_dir() else []


def save_model(settings: Settings, storage: Storage, folder: Path, model_id: str) -> str:
    """Upload a finished model folder to HDFS (``/mri/models/<id>/``) and keep it in the local cache."""
    target = f"{MODELS_ROOT}/{model_id}"
    storage.makedirs(target)
    for name in FILES:
        path = folder / name
        if path.exists():
            storage.write(f"{target}/{name}", path.read_bytes(), overwrite=True)
    cache = local_dir(settings, model_id)
    if cache.resolve() != folder.resolve():
        shutil.copytree(folder, cache, dirs_exist_ok=True)
    logger.info("registered model %s at %s", model_id, target)
    return target


def list_models(settings: Settings, storage: Storage | None) -> list[dict]:
    """Every model's card: shipped ones first, then HDFS (when reachable), newest first."""
    cards = []
    for folder in shipped_models():
        card = json.loads((folder / "card.json").read_text())
        cards.append({**card, "source": "shipped", "location": str(folder)})
    if storage is not None and storage.exists(MODELS_ROOT):
        for entry in sorted(storage.list(MODELS_ROOT), key=lambda e: e["name"], reverse=True):
            try:
                card = json.loads(storage.read(f"{entry['path']}/card.json"))
            except NotFoundError:
                continue
            if not any(c["model_id"] == card["model_id"] for c in cards):
                cards.append({**card, "source": "hdfs", "location": entry["path"]})
    default = default_model_id(settings)
    for card in cards:
        card["default"] = card["model_id"] == default
    return cards


def default_model_id(settings: Settings) -> str | None:
    """The promoted model, else the newest shipped one, else the newest trained on this machine."""
    pointer = settings.run_dir / "default_model.txt"
    if pointer.exists():
        return pointer.read_text().strip() or None
    shipped = shipped_models()
    if shipped:
        return shipped[-1].name
    cache = settings.run_dir / "models"
    local = sorted((p for p in cache.iterdir() if (p / "card.json").is_file()), key=lambda p: p.stat().st_mtime) if cache.is_dir() else []
    return local[-1].name if local else None


def promote(settings: Settings, storage: Storage | None, model_id: str) -> None:
    """Make ``model_id`` the default for classification (fetches it first, so it is known to load)."""
    fetch(settings, storage, model_id)
    (settings.run_dir / "default_model.txt").parent.mkdir(parents=True, exist_ok=True)
    (settings.run_dir / "default_model.txt").write_text(model_id)


def fetch(settings: Settings, storage: Storage | None, model_id: str | None = None) -> Path:
    """A local folder holding the model's files: shipped, cached, or downloaded from HDFS.

    Raises:
        NotFoundError: no model with that id exists.
    """
    model_id = model_id or default_model_id(settings)
    if model_id is None:
        raise NotFoundError("No model is available yet; train one with `python -m engine train DATASET`.")
    candidate = Path(model_id)
    if (candidate / "model.keras").is_file():  # a path to a model folder
        return candidate
    for folder in shipped_models():
        if folder.name == model_id:
            return folder
    cache = local_dir(settings, model_id)
    if (cache / "model.keras").is_file() and (cache / "card.json").is_file():
        return cache
    if storage is None or not storage.exists(f"{MODELS_ROOT}/{model_id}/model.keras"):
        raise NotFoundError(f"There is no model {model_id!r}; `python -m engine models list` shows the registry.")
    cache.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        path = f"{MODELS_ROOT}/{model_id}/{name}"
        if storage.exists(path):
            (cache / name).write_bytes(storage.read(path))
    return cache


def read_card(folder: Path) -> dict:
    try:
        return json.loads((folder / "card.json").read_text())
    except (OSError, ValueError) as err:
        raise InputError(f"{folder} holds no readable card.json; it is not a model folder of this project.") from err


def ship(settings: Settings, storage: Storage | None, model_id: str) -> Path:
    """Copy a model (without optimizer state) into assets/models/<id>/, where it becomes the default."""
    from engine.tfsetup import import_tensorflow

    source = fetch(settings, storage, model_id)
    target = SHIPPED_DIR / model_id
    target.mkdir(parents=True, exist_ok=True)
    import_tensorflow()
    import keras

    from engine.training import save_for_inference

    save_for_inference(keras.models.load_model(source / "model.keras", compile=False), target / "model.keras")
    for name in FILES[1:]:
        if (source / name).exists():
            shutil.copy(source / name, target / name)
    return target
