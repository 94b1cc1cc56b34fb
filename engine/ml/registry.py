"""The model registry: models in HDFS under /mri/models/<id>/, the shipped one in assets/models/, a local cache.

Each model folder holds ``model.keras``, ``card.json`` (classes, input, architecture, data digest,
validation metrics, temperature, date) and ``config.json`` (the training config).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from pathlib import Path

from engine.errors import InputError, NotFoundError
from engine.hdfs.storage import Storage
from engine.settings import REPO_ROOT, Settings, get_settings

logger = logging.getLogger(__name__)


def models_root() -> str:
    """``<MRI_HDFS_ROOT>/models``: one folder per registered model."""
    return get_settings().hdfs_path("models")


SHIPPED_DIR = REPO_ROOT / "assets" / "models"
FILES = ("model.keras", "card.json", "config.json", "ood.json")
# A model id is one path component: it names a folder in HDFS and in the local cache, so no '/', '.' or '..'.
MODEL_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def check_model_id(model_id: str) -> str:
    """``model_id`` if it is a valid id; raises InputError otherwise (it would name a path outside the registry)."""
    if not MODEL_ID_PATTERN.match(model_id or ""):
        raise InputError(f"{model_id!r} is not a model id (letters, digits, '-' and '_' only); `python -m engine models list` shows the registry.")
    return model_id


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def seal(folder: Path) -> dict:
    """Record the SHA-256 of ``model.keras`` in the folder's card (after the model file is final); returns the card."""
    card = read_card(folder)
    card["model_sha256"] = file_sha256(folder / "model.keras")
    (folder / "card.json").write_text(json.dumps(card, indent=1))
    return card


def verify(folder: Path, card: dict) -> None:
    """Refuse a model file whose SHA-256 is not the one its card records (damaged, swapped or never sealed)."""
    want = card.get("model_sha256")
    if not want:
        raise InputError(
            f"The model in {folder} has no SHA-256 in its card, so its file cannot be checked; "
            "retrain it (or run `python -m engine models seal ID` if you trust the file)."
        )
    have = file_sha256(folder / "model.keras")
    if have != want:
        raise InputError(
            f"The model file in {folder} does not match its card (SHA-256 {have[:12]}... instead of "
            f"{want[:12]}...): it was damaged or replaced, so it is not loaded. Fetch or train it again."
        )


def local_dir(settings: Settings, model_id: str) -> Path:
    return settings.run_dir / "models" / model_id


def shipped_models() -> list[Path]:
    return sorted(p for p in SHIPPED_DIR.iterdir() if (p / "card.json").is_file()) if SHIPPED_DIR.is_dir() else []


def save_model(settings: Settings, storage: Storage, folder: Path, model_id: str) -> str:
    """Upload a finished model folder to HDFS (``/mri/models/<id>/``) and keep it in the local cache."""
    target = f"{models_root()}/{model_id}"
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
    if storage is not None and storage.exists(models_root()):
        for entry in sorted(storage.list(models_root()), key=lambda e: e["name"], reverse=True):
            if not MODEL_ID_PATTERN.match(entry["name"]):
                logger.warning("skipping %s: its name is not a model id", entry["path"])
                continue
            try:
                card = json.loads(storage.read(f"{entry['path']}/card.json"))
            except (NotFoundError, ValueError):
                continue
            if not isinstance(card, dict):
                continue
            # The id is the folder's name, never the card's text (which anyone able to write HDFS controls).
            if not any(c["model_id"] == entry["name"] for c in cards):
                cards.append({**card, "model_id": entry["name"], "source": "hdfs", "location": entry["path"]})
    default = default_model_id(settings)
    for card in cards:
        card["default"] = card["model_id"] == default
    return cards


PROMOTE_WITHOUT_ASKING_ABOVE = 0.90  # validation accuracy a model needs to become the default in one click


def promotion_concern(cards: list[dict], model_id: str) -> str | None:
    """Why promoting ``model_id`` deserves a second thought (one sentence), or None.

    ``cards``: as :func:`list_models` returns them, the current default marked.
    """
    card = next(c for c in cards if c["model_id"] == model_id)
    accuracy = card["validation"]["accuracy"]
    reasons = []
    if accuracy < PROMOTE_WITHOUT_ASKING_ABOVE:
        reasons.append(f"its validation accuracy is {accuracy:.1%}, below {PROMOTE_WITHOUT_ASKING_ABOVE:.0%}")
    current = next((c for c in cards if c.get("default")), None)
    if current and current["model_id"] != model_id and accuracy < current["validation"]["accuracy"]:
        reasons.append(f"it is less accurate than the current default {current['model_id']} ({accuracy:.1%} against {current['validation']['accuracy']:.1%})")
    if not reasons:
        return None
    return f"{model_id} would answer every clinician on the Classify page, but " + " and ".join(reasons) + "."


def card_summary(card: dict) -> str:
    """One line naming a model and what its card says of it, the same on the CLI, the pages and the PDF."""
    v = card["validation"]
    return f"{card['model_id']} ({card.get('architecture', '?')}): validation accuracy {v['accuracy']:.2%} on {v['n']} images"


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
    check_model_id(model_id)
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
    if "/" in model_id and (candidate / "model.keras").is_file():  # a folder the user named (CLI --model PATH)
        return candidate
    for folder in shipped_models():
        if folder.name == model_id:
            return folder
    check_model_id(model_id)
    cache = local_dir(settings, model_id)
    if (cache / "model.keras").is_file() and (cache / "card.json").is_file():
        return cache
    if storage is None or not storage.exists(f"{models_root()}/{model_id}/model.keras"):
        raise NotFoundError(f"There is no model {model_id!r}; `python -m engine models list` shows the registry.")
    cache.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        path = f"{models_root()}/{model_id}/{name}"
        if storage.exists(path):
            (cache / name).write_bytes(storage.read(path))
    return cache


def read_card(folder: Path) -> dict:
    try:
        return json.loads((folder / "card.json").read_text())
    except (OSError, ValueError) as err:
        raise InputError(f"{folder} holds no readable card.json; it is not a model folder of this project.") from err


def write_card(storage: Storage | None, folder: Path, card: dict) -> None:
    """Rewrite a model's card in its folder and in its HDFS copy, if it has one; the model file stays as it is."""
    (folder / "card.json").write_text(json.dumps(card, indent=1))
    hdfs_card = f"{models_root()}/{card['model_id']}/card.json"
    if storage is not None and storage.exists(hdfs_card):
        storage.write(hdfs_card, (folder / "card.json").read_bytes(), overwrite=True)


def ship(settings: Settings, storage: Storage | None, model_id: str) -> Path:
    """Copy a model (without optimizer state) into assets/models/<id>/, where it becomes the default."""
    from engine.ml.tfsetup import import_tensorflow

    source = fetch(settings, storage, model_id)
    target = SHIPPED_DIR / model_id
    target.mkdir(parents=True, exist_ok=True)
    import_tensorflow()
    import keras

    from engine.ml.models import save_for_inference

    save_for_inference(keras.models.load_model(source / "model.keras", compile=False), target / "model.keras")
    for name in FILES[1:]:
        if (source / name).exists():
            shutil.copy(source / name, target / name)
    seal(target)  # the slimmed file differs from the registered one
    return target
