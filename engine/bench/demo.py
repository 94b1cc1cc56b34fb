"""Demo mode: the whole pipeline on the shipped sample, one narrated step at a time.

Everything the demo writes is its own and is replaced on the next run: the HDFS
dataset ``demo``, the models ``compact-demo-*`` (older ones are removed, none is
promoted) and ``<run_dir>/demo/``. The user's datasets, models, default model and
saved benchmarks are never touched. Each step's result goes to
``<run_dir>/demo/state.json`` as soon as it is known, so the page can show the
demo live and again after a refresh.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.data import datasets
from engine.errors import InputError, StorageError
from engine.hdfs.storage import Storage
from engine.ml import registry
from engine.progress import ProgressFn, no_progress
from engine.settings import REPO_ROOT, Settings
from engine.textutil import write_json_atomic

logger = logging.getLogger(__name__)

DEMO_DATASET = "demo"
SAMPLE_DIR = REPO_ROOT / "assets" / "sample"
BUDGET_S = 180.0  # the promise to presenters: the whole demo in three minutes on 2 cores
DEMO_SIZE = 128  # px; the shipped model's input size
DEMO_EPOCHS = 3
DEMO_WORKERS = 2


@dataclasses.dataclass(frozen=True)
class Step:
    key: str
    title: str
    narration: str


STEPS = (
    Step(
        "store",
        "Store the scans in HDFS",
        "The 40 sample scans are checked one by one (type, size, class folder) and uploaded to HDFS. Each file is "
        "split into blocks and every block is kept on two DataNodes, so losing one machine loses nothing. A packed "
        "Parquet copy is written too, because thousands of tiny files are the slowest thing HDFS and Spark can read.",
    ),
    Step(
        "blocks",
        "Blocks and replicas",
        "The NameNode knows where each block lives. Here is the packed copy's block map: every block on two different "
        "DataNodes. Forty one-per-scan files cost the NameNode forty entries and forty nearly empty blocks; the packed "
        "copy costs a handful.",
    ),
    Step(
        "preprocess",
        "Preprocess with Spark",
        "Spark reads the packed copy from HDFS in partitions, runs the same per-image function on each partition in "
        "parallel Python workers (decode, greyscale, resize, contrast stretch) and writes Parquet back to HDFS.",
    ),
    Step(
        "train",
        "Train with Elephas",
        "Elephas copies the Keras model to each Spark worker, trains a copy on each partition of the data and averages "
        "the weights after every epoch. A real run, but tiny: three epochs on 30 of the 40 scans (10 are kept back to "
        "validate) show the mechanics, not a good model (the shipped one trained the same way, with 2 workers, for 30 epochs on 5,708 scans).",
    ),
    Step(
        "speedup",
        "Measure the speed-up",
        "The same preprocessing, timed on this machine: a plain Python loop, a process pool, and Spark with 1 and 2 "
        "workers. On 40 images Spark's fixed costs (starting Python workers, scheduling, writing to HDFS) dominate, "
        "which is the lesson: parallelism pays only when there is enough work to share.",
    ),
    Step(
        "classify",
        "Classify a scan, explained",
        "The shipped model answers for one scan with calibrated probabilities and a Grad-CAM heat map of the regions "
        "that drove the answer. Answers below 70% confidence are flagged for review; non-MRI images are refused.",
    ),
)


def demo_dir(settings: Settings) -> Path:
    return settings.run_dir / "demo"


def read_state(settings: Settings) -> dict | None:
    """The latest demo's state (steps with status, seconds and result), or None if none ever ran.

    A step still marked running when no demo holds the lock was cut short (cancelled or killed): it says "stopped".
    """
    try:
        data = json.loads((demo_dir(settings) / "state.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    if not is_running(settings):
        for step in data["steps"]:
            if step["status"] == "running":
                step["status"] = "stopped"
    return data


def is_running(settings: Settings) -> bool:
    """Whether a demo process holds the demo lock right now."""
    try:
        with open(demo_dir(settings) / "lock") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except FileNotFoundError:
        return False
    except BlockingIOError:
        return True
    return False


class _State:
    """The state file, rewritten atomically after every change."""

    def __init__(self, folder: Path):
        self.path = folder / "state.json"
        self.data = {
            "started": time.time(),
            "ended": None,
            "seconds": None,
            "budget_s": BUDGET_S,
            "error": None,
            "steps": [{"key": s.key, "title": s.title, "narration": s.narration, "status": "waiting", "seconds": None, "result": None} for s in STEPS],
        }
        self.save()

    def step(self, key: str) -> dict:
        return next(s for s in self.data["steps"] if s["key"] == key)

    def save(self) -> None:
        write_json_atomic(self.path, self.data)


@contextlib.contextmanager
def _only_one_demo(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError("A demo is already running; wait for it to finish (the Overview page shows it).") from None
        yield


def run_demo(settings: Settings, storage: Storage, on_progress: ProgressFn = no_progress) -> dict:
    """Run every step in order; returns the final state. A failing step stops the demo with its reason."""
    folder = demo_dir(settings)
    with _only_one_demo(folder):
        for old in ("scan.png", "heatmap.png"):
            (folder / old).unlink(missing_ok=True)
        state = _State(folder)
        t_start = time.monotonic()
        actions: dict[str, Callable[[ProgressFn], dict]] = {
            "store": lambda p: _store(storage, p),
            "blocks": lambda p: _blocks(settings, storage),
            "preprocess": lambda p: _preprocess(settings, storage, p),
            "train": lambda p: _train(settings, storage, p),
            "speedup": lambda p: _speedup(settings, storage, p),
            "classify": lambda p: _classify(settings, storage, folder),
        }
        for i, spec in enumerate(STEPS):
            record = state.step(spec.key)
            record["status"] = "running"
            state.save()
            on_progress(i, len(STEPS), f"step {i + 1}/{len(STEPS)}: {spec.title}")

            def sub(done, total, message="", _i=i, _title=spec.title):
                detail = f" ({done}/{total})" if total else ""
                on_progress(_i, len(STEPS), f"step {_i + 1}/{len(STEPS)}: {_title} — {message}{detail}")

            t0 = time.monotonic()
            try:
                record["result"] = actions[spec.key](sub)
                record["status"] = "done"
            except Exception as err:
                record["status"] = "failed"
                state.data.update(error=f"{spec.title} failed: {err}", ended=time.time())
                raise
            finally:
                record["seconds"] = round(time.monotonic() - t0, 1)
                state.data["seconds"] = round(time.monotonic() - t_start, 1)
                state.save()
        state.data["ended"] = time.time()
        state.save()
        on_progress(len(STEPS), len(STEPS), f"demo finished in {state.data['seconds']:.0f} s")
        return state.data


# ---------------------------------------------------------------------- steps
def _store(storage: Storage, on_progress: ProgressFn) -> dict:
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


def _blocks(settings: Settings, storage: Storage) -> dict:
    packed = sorted((e for e in storage.list(datasets.packed_dir(DEMO_DATASET)) if e["name"].endswith(".parquet")), key=lambda e: e["length"], reverse=True)
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


def _preprocess(settings: Settings, storage: Storage, on_progress: ProgressFn) -> dict:
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


def _local_card(folder: Path) -> dict | None:
    for name in ("card.json", "config.json", "model/card.json"):
        try:
            return json.loads((folder / name).read_text())
        except (OSError, ValueError):
            continue
    return None


def _remove_old_demo_models(settings: Settings, storage: Storage) -> None:
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
            if path.is_dir() and is_demo_model(path.name, _local_card(path)):
                shutil.rmtree(path, ignore_errors=True)


def _train(settings: Settings, storage: Storage, on_progress: ProgressFn) -> dict:
    from engine.ml.config import TrainConfig, TrainingMode
    from engine.ml.training import train

    _remove_old_demo_models(settings, storage)
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


def _speedup(settings: Settings, storage: Storage, on_progress: ProgressFn) -> dict:
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


def _classify(settings: Settings, storage: Storage, folder: Path) -> dict:
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
