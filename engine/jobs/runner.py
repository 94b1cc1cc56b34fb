"""The process that owns one job: runs ``python -m engine <argv> --json`` and records how it ends.

Started by :func:`engine.jobs.store.submit_job` as ``python -m engine.jobs.runner JOB_DIR``
in its own process session; SIGTERM (cancel) stops the command and records
``cancelled``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from engine.jobs.store import JobStatus, update_record


def _last_error_line(log_path: Path, result_path: Path) -> str:
    try:
        result = json.loads(result_path.read_text() or "{}")
        if isinstance(result, dict) and result.get("error"):
            return str(result["error"])
    except (OSError, ValueError):
        pass
    try:
        lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "The command failed and left no log."
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or ["The command failed and left no log."])[-1].removeprefix("error:").strip()


def run(folder: Path) -> int:
    me = psutil.Process()
    job = update_record(folder, status=JobStatus.RUNNING, started=time.time(), runner_pid=me.pid, runner_create_time=me.create_time())
    cancelled = False

    def on_term(_signum, _frame):
        nonlocal cancelled
        cancelled = True

    signal.signal(signal.SIGTERM, on_term)
    cmd = [sys.executable, "-m", "engine", "--progress-file", str(folder / "events.jsonl"), *job.argv, "--json"]
    log_path, result_path = folder / "log.txt", folder / "result.json"
    with open(result_path, "wb") as out, open(log_path, "ab") as log:
        child = subprocess.Popen(cmd, stdout=out, stderr=log, stdin=subprocess.DEVNULL)
        update_record(folder, child_pid=child.pid)
        while True:
            try:
                code = child.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if cancelled or (folder / "cancel").exists():
                    cancelled = True
                    child.terminate()
                    try:
                        child.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        child.kill()
    code = child.wait()
    if cancelled or (folder / "cancel").exists():
        update_record(folder, status=JobStatus.CANCELLED, ended=time.time(), exit_code=code, error="Cancelled by the user.")
    elif code == 0:
        update_record(folder, status=JobStatus.SUCCEEDED, ended=time.time(), exit_code=0)
    else:
        update_record(folder, status=JobStatus.FAILED, ended=time.time(), exit_code=code, error=_last_error_line(log_path, result_path))
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1])))
