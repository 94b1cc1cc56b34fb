"""Progress reporting: engine functions call ``on_progress(done, total, message)``; the CLI decides where it goes."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol


class ProgressFn(Protocol):
    def __call__(self, done: int, total: int | None, message: str = "") -> None: ...


def no_progress(done: int, total: int | None, message: str = "") -> None:
    """The default callback: report nothing."""


class EventFile:
    """Appends progress events as JSON lines (a job's ``events.jsonl``)."""

    def __init__(self, path: Path):
        self.path = path

    def __call__(self, done: int, total: int | None, message: str = "") -> None:
        event = {"t": round(time.time(), 3), "done": done, "total": total, "message": message}
        with open(self.path, "a") as fh:
            fh.write(json.dumps(event) + "\n")


class TerminalBar:
    """A one-line progress bar on stderr when it is a terminal, plain lines otherwise."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self._last_line = ""
        self._last_message = ""

    def __call__(self, done: int, total: int | None, message: str = "") -> None:
        if total:
            filled = int(self.width * min(done, total) / total)
            line = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {message}"
        else:
            line = message
        if self.tty:
            self.stream.write("\r\033[K" + line[:150])
            if total and done >= total:
                self.stream.write("\n")
        elif message != self._last_message or (total and done >= total):
            self.stream.write(line + "\n")  # logs get one line per step, not per item
        self._last_line, self._last_message = line, message
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._last_line:
            self.stream.write("\n")
            self.stream.flush()


def fan_out(*callbacks: Callable) -> ProgressFn:
    """One callback that forwards to several."""

    def call(done: int, total: int | None, message: str = "") -> None:
        for cb in callbacks:
            cb(done, total, message)

    return call
