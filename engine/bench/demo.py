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
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.bench import demo_steps
from engine.bench.demo_steps import (  # noqa: F401 - the demo's public names
    DEMO_DATASET,
    DEMO_EPOCHS,
    DEMO_SIZE,
    DEMO_WORKERS,
    SAMPLE_DIR,
    demo_scan,
    is_demo_model,
)
from engine.errors import InputError
from engine.hdfs.storage import Storage
from engine.progress import ProgressFn, no_progress
from engine.settings import Settings
from engine.textutil import write_json_atomic

logger = logging.getLogger(__name__)

BUDGET_S = 180.0  # the promise to presenters: the whole demo in three minutes on 2 cores


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
            "store": lambda p: demo_steps.step_store(storage, p),
            "blocks": lambda p: demo_steps.step_blocks(settings, storage),
            "preprocess": lambda p: demo_steps.step_preprocess(settings, storage, p),
            "train": lambda p: demo_steps.step_train(settings, storage, p),
            "speedup": lambda p: demo_steps.step_speedup(settings, storage, p),
            "classify": lambda p: demo_steps.step_classify(settings, storage, folder),
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
