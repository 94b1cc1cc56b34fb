"""Background jobs: any engine CLI command run in its own process, with its state on disk.

A job folder ``<run_dir>/jobs/<id>/`` holds ``job.json`` (status and times),
``events.jsonl`` (progress events the command appends), ``log.txt`` (its
stderr) and ``result.json`` (its ``--json`` output). A small runner process
(:mod:`engine.jobs.runner`) owns the command's process, so the state survives
page reloads and a restarted dashboard; a job whose runner died is reported
as failed, never "running" forever.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import signal
import subprocess
import threading
import time
from enum import StrEnum
from pathlib import Path

from engine.errors import JobError, NotFoundError
from engine.jobs.requests import Request, describe
from engine.processes import is_alive, wait_until
from engine.settings import REPO_ROOT, Settings
from engine.textutil import read_jsonl, write_json_atomic

logger = logging.getLogger(__name__)

QUEUED_GRACE_S = 60.0  # a job still queued this long after submission never got a runner


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclasses.dataclass
class Job:
    """One job's record, as stored in ``job.json``."""

    id: str
    argv: list[str]
    title: str
    status: JobStatus = JobStatus.QUEUED
    created: float = dataclasses.field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    runner_pid: int | None = None
    runner_create_time: float | None = None
    child_pid: int | None = None
    exit_code: int | None = None
    error: str | None = None
    kind: str = ""  # e.g. "preprocess", "dataset-stats" (engine.jobs.requests.describe)
    dataset: str | None = None  # the dataset it works on, if any
    # filled on read, not stored
    progress: dict | None = None
    result: dict | None = None

    @property
    def seconds(self) -> float | None:
        if self.started is None:
            return None
        return round((self.ended or time.time()) - self.started, 1)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["status"] = str(self.status)
        data["seconds"] = self.seconds
        return data


# ---------------------------------------------------------------------- files
def job_dir(settings: Settings, job_id: str) -> Path:
    if not job_id or "/" in job_id or job_id.startswith("."):
        raise NotFoundError(f"{job_id!r} is not a job id; `python -m engine jobs list` shows the ids.")
    return settings.jobs_dir / job_id


def _write_record(folder: Path, job: Job) -> None:
    data = job.to_dict()
    for transient in ("progress", "result", "seconds"):
        data.pop(transient, None)
    write_json_atomic(folder / "job.json", data)


def _read_record(folder: Path) -> Job:
    try:
        data = json.loads((folder / "job.json").read_text())
    except FileNotFoundError:
        raise NotFoundError(f"There is no job {folder.name!r}; `python -m engine jobs list` shows the ids.") from None
    except ValueError as err:
        raise JobError(f"The record of job {folder.name!r} is unreadable ({err}); delete {folder} to forget it.") from err
    data["status"] = JobStatus(data["status"])
    fields = {f.name for f in dataclasses.fields(Job)}
    return Job(**{k: v for k, v in data.items() if k in fields})


def update_record(folder: Path, **changes) -> Job:
    """Read, change and atomically rewrite a job's record."""
    job = _read_record(folder)
    for key, value in changes.items():
        setattr(job, key, value)
    _write_record(folder, job)
    return job


def read_events(folder: Path, limit: int | None = None) -> list[dict]:
    """Progress events of a job, oldest first (a torn last line is skipped)."""
    return read_jsonl(folder / "events.jsonl", limit)


def read_log(settings: Settings, job_id: str, tail_lines: int = 200) -> str:
    try:
        lines = (job_dir(settings, job_id) / "log.txt").read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    return "\n".join(lines[-tail_lines:])


# ---------------------------------------------------------------------- liveness
def _reconcile(folder: Path, job: Job) -> Job:
    """Mark a job failed when its runner process is gone but the record says it runs."""
    if job.status.finished:
        return job
    if job.status == JobStatus.QUEUED and job.runner_pid is None and time.time() - job.created < QUEUED_GRACE_S:
        return job
    if is_alive(job.runner_pid, job.runner_create_time):
        return job
    # Re-read: the runner may have finished between our read and the check.
    job = _read_record(folder)
    if job.status.finished:
        return job
    return update_record(folder, status=JobStatus.FAILED, ended=time.time(), error=f"The job's process (pid {job.runner_pid}) died unexpectedly; see its log.")


# ---------------------------------------------------------------------- public API
def submit_request(settings: Settings, request: Request) -> Job:
    """Start a typed request (:mod:`engine.jobs.requests`) as a background job."""
    return submit_job(settings, request.argv(), title=request.title())


def submit_job(settings: Settings, argv: list[str], title: str | None = None) -> Job:
    """Start ``python -m engine <argv> --json`` as a background job and return its record.

    The job runs in a new process session, so it outlives the caller (a page
    rerun, a closed browser, a restarted dashboard).
    """
    if not argv:
        raise JobError("A job needs a command to run, e.g. ['cluster', 'status'].")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    job_id = f"{stamp}-{argv[0]}-{secrets.token_hex(3)}"
    folder = settings.jobs_dir / job_id
    folder.mkdir(parents=True)
    kind, dataset = describe(argv)
    job = Job(id=job_id, argv=list(argv), title=title or " ".join(argv), kind=kind, dataset=dataset)
    _write_record(folder, job)
    with open(folder / "log.txt", "ab") as log:
        proc = subprocess.Popen(
            [str(settings.python), "-m", "engine.jobs.runner", str(folder)],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    # Reap the runner when it exits so a long-lived caller (the dashboard) collects no zombies.
    threading.Thread(target=proc.wait, name=f"reap-{job_id}", daemon=True).start()
    logger.info("submitted job %s: %s (runner pid %d)", job_id, argv, proc.pid)
    return job


def get_job(settings: Settings, job_id: str, with_events: bool = True) -> Job:
    """A job's record with its latest progress event and result; dead runners become failed."""
    folder = job_dir(settings, job_id)
    job = _reconcile(folder, _read_record(folder))
    if with_events:
        events = read_events(folder, limit=50)
        job.progress = next((e for e in reversed(events) if e.get("total") is not None or e.get("message")), None)
    result_path = folder / "result.json"
    if job.status.finished and result_path.exists():
        try:
            job.result = json.loads(result_path.read_text() or "null")
        except ValueError:
            job.result = None
    return job


def list_jobs(settings: Settings, limit: int = 50) -> list[Job]:
    """Recent jobs, newest first."""
    if not settings.jobs_dir.is_dir():
        return []
    folders = sorted((p for p in settings.jobs_dir.iterdir() if (p / "job.json").exists()), key=lambda p: p.name, reverse=True)
    jobs = []
    for folder in folders[:limit]:
        try:
            jobs.append(get_job(settings, folder.name))
        except (JobError, NotFoundError) as err:
            logger.warning("skipping job folder %s: %s", folder, err)
    return jobs


def cancel_job(settings: Settings, job_id: str) -> Job:
    """Ask a job to stop: its runner and command get SIGTERM, the record says cancelled."""
    folder = job_dir(settings, job_id)
    job = get_job(settings, job_id, with_events=False)
    if job.status.finished:
        return job
    (folder / "cancel").touch()
    if is_alive(job.runner_pid, job.runner_create_time):
        try:
            os.killpg(job.runner_pid, signal.SIGTERM)  # the runner leads its own process group
        except ProcessLookupError:
            pass
        wait_until(lambda: not is_alive(job.runner_pid, job.runner_create_time), 15, interval_s=0.1)
        if is_alive(job.runner_pid, job.runner_create_time):
            os.killpg(job.runner_pid, signal.SIGKILL)
    job = _read_record(folder)
    if not job.status.finished:
        job = update_record(folder, status=JobStatus.CANCELLED, ended=time.time(), error="Cancelled by the user.")
    return get_job(settings, job_id)


def wait_for_job(settings: Settings, job_id: str, timeout_s: float = 600.0, poll_s: float = 0.2) -> Job:
    """Poll until a job finishes; raises JobError on timeout."""
    if not wait_until(lambda: get_job(settings, job_id, with_events=False).status.finished, timeout_s, poll_s):
        raise JobError(f"Job {job_id} did not finish within {timeout_s:.0f} s.")
    return get_job(settings, job_id)


def latest_job(settings: Settings, kind: str, dataset: str | None = None) -> Job | None:
    """The newest job of ``kind`` (on ``dataset``, if given), running or finished.

    Pages use this instead of session state, so a job's progress survives a browser refresh.
    """
    for job in list_jobs(settings, limit=200):
        job_kind, job_dataset = (job.kind, job.dataset) if job.kind else describe(job.argv)  # records from before kinds
        if job_kind == kind and (dataset is None or job_dataset == dataset):
            return job
    return None
