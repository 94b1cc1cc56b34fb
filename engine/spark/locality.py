"""Data locality, as Spark recorded it: where each task of a block of work ran (its executor's host) and how
close its input was (PROCESS_LOCAL, NODE_LOCAL, RACK_LOCAL, ANY, NO_PREF), read from the application's own
status API while the session is up."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections import Counter
from collections.abc import Iterator

import requests

from engine.processes import wait_until

logger = logging.getLogger(__name__)

LEVELS = ("PROCESS_LOCAL", "NODE_LOCAL", "RACK_LOCAL", "ANY", "NO_PREF")
MAX_TASKS_LISTED = 200  # tasks kept in a result with their host and input; the counts cover all of them


class Locality:
    """Filled when the ``task_locality`` block ends: counts by level, per stage, and the tasks themselves."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.stages: list[dict] = []
        self.tasks: list[dict] = []

    def as_dict(self) -> dict:
        return {"counts": self.counts, "stages": self.stages, "tasks": self.tasks[:MAX_TASKS_LISTED]}


@contextlib.contextmanager
def task_locality(spark, label: str = "mri") -> Iterator[Locality]:
    """Run the block's Spark jobs in a job group of their own; afterwards, collect their tasks' locality.

    Best effort: a Spark without its UI (``spark.ui.enabled=false``) leaves the counts empty.
    """
    sc = spark.sparkContext
    group = f"{label}-{secrets.token_hex(4)}"
    sc.setJobGroup(group, label)
    found = Locality()
    try:
        yield found
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    try:
        _collect(sc, group, found)
    except (requests.RequestException, ValueError, KeyError) as err:
        logger.warning("task locality unavailable (%s)", err)


def _collect(sc, group: str, found: Locality) -> None:
    tracker = sc.statusTracker()
    stage_ids = sorted({s for j in tracker.getJobIdsForGroup(group) if (info := tracker.getJobInfo(j)) for s in info.stageIds})
    if not sc.uiWebUrl or not stage_ids:
        return
    base = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/stages"
    counts: Counter = Counter()
    for stage_id in stage_ids:
        attempts = _stage_when_settled(base, stage_id)
        for attempt in attempts:
            if attempt.get("status") == "SKIPPED":
                continue
            tasks = [t for t in (attempt.get("tasks") or {}).values() if t.get("status") == "SUCCESS"]
            levels = Counter(t.get("taskLocality", "ANY") for t in tasks)
            counts += levels
            found.stages.append({"stage": stage_id, "name": attempt.get("name", ""), "tasks": len(tasks), "locality": dict(levels)})
            found.tasks += [
                {
                    "stage": stage_id,
                    "task": t.get("index"),
                    "host": t.get("host"),
                    "executor": t.get("executorId"),
                    "locality": t.get("taskLocality"),
                    "input_bytes": ((t.get("taskMetrics") or {}).get("inputMetrics") or {}).get("bytesRead", 0),
                    "seconds": round((t.get("duration") or 0) / 1000, 3),
                }
                for t in sorted(tasks, key=lambda t: t.get("index", 0))
            ]
    found.counts = {level: counts[level] for level in LEVELS if counts[level]}


def _stage_when_settled(base: str, stage_id: int) -> list[dict]:
    """The stage's attempts with their tasks, once the status store has seen every task end (it lags the job)."""
    latest: list[dict] = []

    def settled() -> bool:
        nonlocal latest
        latest = requests.get(f"{base}/{stage_id}", params={"details": "true"}, timeout=30).json()
        return all(a.get("status") != "ACTIVE" and a.get("numActiveTasks", 0) == 0 for a in latest)

    wait_until(settled, timeout_s=10, interval_s=0.2)
    return latest
