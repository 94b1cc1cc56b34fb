"""The demo's steps, each a small call into the engine on the demo's own dataset and models."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

from engine.data import datasets
from engine.errors import StorageError
from engine.hdfs.storage import Storage
from engine.ml import registry
from engine.progress import ProgressFn
from engine.settings import REPO_ROOT, Settings

logger = logging.getLogger(__name__)

DEMO_DATASET = "demo"
SAMPLE_DIR = REPO_ROOT / "assets" / "sample"
DEMO_SIZE = 128  # px; the shipped model's input size
DEMO_EPOCHS = 3
DEMO_WORKERS = 2


def step_store(storage: Storage, on_progress: ProgressFn) -> dict:
    from engine.data.ingest import ingest_dataset

    if storage.exists(datasets.dataset_dir(DEMO_DATASET)):
        storage.delete(datasets.dataset_dir(DEMO_DATASET), recursive=True)  # the demo's own copy, from last time
    r = ingest_dataset(storage, SAMPLE_DIR, DEMO_DATASET, on_progress=on_progress)
    return {
        "stored": r["stored"],
        "per_class": r.get("per_class"),
        "rejected": len(r.get("rejected", [])),
        "bytes": r["bytes_stored"],
        "path": datasets.dataset_dir(DEMO_DATASET),
    }


def step_blocks(settings: Settings, storage: Storage) -> dict:
    packed = sorted(storage.parquet_parts(datasets.packed_dir(DEMO_DATASET)), key=lambda e: e["length"], reverse=True)
    biggest = storage.blocks(packed[0]["path"])
    manifest = datasets.read_manifest(storage, DEMO_DATASET)
    report = datasets.small_files_report(manifest, settings.block_size, [int(e["length"]) for e in packed])
    # Where the replicas of the 40 one-per-scan files landed: the NameNode spreads them over the DataNodes.
    replicas: dict[str, int] = {}
    for path in manifest["path"]:
        for block in storage.blocks(path)["blocks"]:
            for host in block["hosts"]:
                replicas[host] = replicas.get(host, 0) + 1
    return {"file": biggest, "small_files": report, "raw_replicas_per_datanode": dict(sorted(replicas.items()))}


def step_preprocess(settings: Settings, storage: Storage, on_progress: ProgressFn) -> dict:
    from engine.data.preprocess import preprocess_dataset

    r = preprocess_dataset(settings, storage, DEMO_DATASET, size=DEMO_SIZE, workers=DEMO_WORKERS, on_progress=on_progress)
    return {k: r[k] for k in ("images", "failed", "output", "partitions", "files", "bytes", "blocks", "seconds", "master", "spark_ui")}


# Demo models are named <arch>-demo-<stamp> and trained on the dataset "demo", a name users cannot ingest.
DEMO_MODEL_ID = re.compile(r"^[a-z0-9]+-demo-\d{8}-\d{6}$")


def is_demo_model(model_id: str, card: dict | None) -> bool:
    """True only for models the demo made: its id pattern *and* a card or config saying dataset "demo"."""
    if not DEMO_MODEL_ID.match(model_id) or not isinstance(card, dict):
        return False
    dataset = card["training"].get("dataset") if isinstance(card.get("training"), dict) else card.get("dataset")
    return dataset == DEMO_DATASET


def local_card(folder: Path) -> dict | None:
    for name in ("card.json", "config.json", "model/card.json"):
        try:
            return json.loads((folder / name).read_text())
        except (OSError, ValueError):
            continue
    return None


def remove_old_demo_models(settings: Settings, storage: Storage) -> None:
    """Delete the models earlier demos made, and nothing else (a user's dataset may be called "x-demo" or "demo-x")."""
    root = registry.models_root()
    if storage.exists(root):
        for entry in storage.list(root):
            if not DEMO_MODEL_ID.match(entry["name"]):
                continue
            try:
                card = json.loads(storage.read(f"{entry['path']}/card.json"))
            except (StorageError, ValueError):
                continue
            if is_demo_model(entry["name"], card):
                storage.delete(entry["path"], recursive=True)
    for root_dir in (settings.run_dir / "models", settings.run_dir / "training"):
        for path in root_dir.iterdir() if root_dir.is_dir() else []:
            if path.is_dir() and is_demo_model(path.name, local_card(path)):
                shutil.rmtree(path, ignore_errors=True)


def step_train(settings: Settings, storage: Storage, on_progress: ProgressFn) -> dict:
    from engine.ml.config import TrainConfig, TrainingMode
    from engine.ml.training import train

    remove_old_demo_models(settings, storage)
    config = TrainConfig(
        dataset=DEMO_DATASET, mode=TrainingMode.SYNCHRONOUS, workers=DEMO_WORKERS, epochs=DEMO_EPOCHS, batch_size=8, val_fraction=0.25, warmup_epochs=1, seed=7
    )
    card = train(settings, storage, config, on_progress=on_progress)
    return {
        "model_id": card["model_id"],
        "mode": config.mode,
        "workers": config.workers,
        "epochs": config.epochs,
        "train_images": card["training"]["train_images"],
        "val_images": card["training"]["val_images"],
        "seconds": card["training"]["seconds"],
        "history": card["history"],
        "val_accuracy": card["validation"]["accuracy"],
    }


def step_speedup(settings: Settings, storage: Storage, on_progress: ProgressFn) -> dict:
    from engine.bench.preprocess import benchmark_preprocess
    from engine.data.preprocess import Method

    r = benchmark_preprocess(
        settings,
        storage,
        DEMO_DATASET,
        workers=[1, DEMO_WORKERS],
        repeat=1,
        size=DEMO_SIZE,
        inputs=("packed",),
        methods=(Method.SPARK_ARROW,),
        save=False,
        on_progress=on_progress,
    )
    return {k: r[k] for k in ("images", "cores", "runs", "amdahl", "size", "workers")}


def demo_scan() -> Path:
    """The scan the demo classifies: the first glioma of the shipped sample."""
    return sorted((SAMPLE_DIR / "Training" / "glioma").iterdir())[0]


def step_classify(settings: Settings, storage: Storage, folder: Path) -> dict:
    from engine.clinic.classify import Classifier
    from engine.clinic.gradcam import overlay
    from engine.ml.inference import LoadedModel

    classifier = Classifier(LoadedModel(registry.fetch(settings, storage)))
    scan = demo_scan()
    answer = classifier.classify([(scan.name, scan.read_bytes())], log=settings, source="demo")[0]
    if answer.grey is not None:
        answer.grey.convert("L").save(folder / "scan.png")
        if answer.cam is not None:
            overlay(answer.grey, answer.cam).save(folder / "heatmap.png")
    return {
        "model_id": classifier.model_id,
        "file": scan.name,
        "true_class": scan.parent.name,
        **answer.to_json(),
        "scan_png": str(folder / "scan.png"),
        "heatmap_png": str(folder / "heatmap.png") if answer.cam is not None else None,
    }
