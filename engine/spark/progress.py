"""Report a running Spark job's progress (tasks done / total) through an ``on_progress`` callback."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from engine.progress import ProgressFn


@contextlib.contextmanager
def track_tasks(spark, on_progress: ProgressFn, message: str, interval_s: float = 0.5) -> Iterator[None]:
    """While the block runs, poll Spark's status tracker and report completed/total tasks of active stages."""
    tracker = spark.sparkContext.statusTracker()
    stop = threading.Event()
    ui = spark.sparkContext.uiWebUrl

    def poll() -> None:
        while not stop.wait(interval_s):
            done = total = 0
            for stage_id in tracker.getActiveStageIds():
                info = tracker.getStageInfo(stage_id)
                if info:
                    done += info.numCompletedTasks
                    total += info.numTasks
            if total:
                on_progress(done, total, f"{message} — Spark tasks (UI {ui})")

    thread = threading.Thread(target=poll, name="spark-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)
