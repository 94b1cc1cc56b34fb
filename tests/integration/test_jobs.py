"""Background jobs through real processes: success, failure, cancel, and a killed process."""

import os
import signal
import time

import psutil
import pytest

from engine.jobs import store as jobs
from engine.jobs.store import JobStatus
from engine.settings import load_settings


@pytest.fixture
def job_settings(tmp_path):
    return load_settings({"MRI_RUN_DIR": str(tmp_path)})


def wait_running(settings, job_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.get_job(settings, job_id)
        if job.status == JobStatus.RUNNING and job.child_pid and job.progress:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never started: {jobs.get_job(settings, job_id)}")


def test_job_succeeds_with_progress_and_result(job_settings):
    job = jobs.submit_job(job_settings, ["sleep", "0.5"])
    done = jobs.wait_for_job(job_settings, job.id, timeout_s=120)
    assert done.status == JobStatus.SUCCEEDED and done.exit_code == 0
    assert done.result == {"slept_s": 0.5}
    events = jobs.read_events(job_settings.jobs_dir / job.id)
    assert events[-1]["done"] == events[-1]["total"] and len(events) >= 5
    assert [j.id for j in jobs.list_jobs(job_settings)] == [job.id]


def test_job_failure_keeps_the_reason(job_settings):
    job = jobs.submit_job(job_settings, ["sleep", "0.2", "--fail"])
    done = jobs.wait_for_job(job_settings, job.id, timeout_s=120)
    assert done.status == JobStatus.FAILED and done.exit_code == 1
    assert "Failing on purpose" in done.error
    assert "Failing on purpose" in jobs.read_log(job_settings, job.id)


def test_job_cancel_stops_the_process(job_settings):
    job = jobs.submit_job(job_settings, ["sleep", "60"])
    running = wait_running(job_settings, job.id)
    cancelled = jobs.cancel_job(job_settings, job.id)
    assert cancelled.status == JobStatus.CANCELLED
    assert not psutil.pid_exists(running.child_pid) or psutil.Process(running.child_pid).status() == psutil.STATUS_ZOMBIE


def test_killed_job_is_reported_failed_not_running(job_settings):
    job = jobs.submit_job(job_settings, ["sleep", "60"])
    running = wait_running(job_settings, job.id)
    os.killpg(running.runner_pid, signal.SIGKILL)  # runner and command die without a word
    psutil.Process(running.runner_pid).wait(timeout=10) if psutil.pid_exists(running.runner_pid) else None
    deadline = time.monotonic() + 30
    while jobs.get_job(job_settings, job.id).status == JobStatus.RUNNING and time.monotonic() < deadline:
        time.sleep(0.1)
    dead = jobs.get_job(job_settings, job.id)
    assert dead.status == JobStatus.FAILED
    assert "died unexpectedly" in dead.error


def test_unknown_job_is_not_found(job_settings):
    from engine.errors import NotFoundError

    with pytest.raises(NotFoundError, match="jobs list"):
        jobs.get_job(job_settings, "nope")
