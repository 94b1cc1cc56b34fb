"""Processes the engine starts and finds again: pid files that survive a restart, liveness that a reused pid
cannot fool (the start time must match), stopping politely then firmly, free ports, and waiting until a
condition holds or a deadline passes."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from engine.textutil import write_json_atomic


def record_process(path: Path, pid: int, **extra) -> None:
    """Write ``{"pid", "create_time", **extra}`` to ``path``: enough to recognise this very process later.
    Replaced whole (written aside, then renamed), so a reader in another process never sees half a record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"pid": pid, "create_time": psutil.Process(pid).create_time(), **extra})


def is_alive(pid: int | None, create_time: float | None, tolerance_s: float = 1.0) -> bool:
    """True while ``pid`` runs and is the process that started at ``create_time`` (not a reused pid)."""
    if not pid:
        return False
    try:
        proc = psutil.Process(int(pid))
        same = create_time is None or abs(proc.create_time() - float(create_time)) < tolerance_s
        return same and proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, ValueError, TypeError):
        return False


def recorded_process(path: Path) -> psutil.Process | None:
    """The running process a pid file names, or None. A stale file is left for the next start to replace: a
    reader that removed it could remove the record a restart wrote a moment after the reader looked (the
    daemon would then run unrecorded and its restart find its port taken), and the start time already
    tells a stale record from a live one."""
    try:
        record = json.loads(path.read_text())
        if is_alive(record["pid"], record["create_time"]):
            return psutil.Process(record["pid"])
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        pass
    return None


def stop_process(proc: psutil.Process, timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; a process already gone is fine."""
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=timeout)
    except psutil.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    except psutil.NoSuchProcess:
        pass


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_until(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.5) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout_s`` passes (False); never sleeps past the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(interval_s, left))
