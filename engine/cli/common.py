"""What every command module shares: usage errors (exit 2), partial failures, the parser class."""

from __future__ import annotations

import argparse

from engine.errors import EngineError


class UsageError(EngineError):
    exit_code = 2


def raise_usage(message: str):
    raise UsageError(message)


class PartialFailure(EngineError):
    """Some inputs were unusable: exit 2, but the result (with the other answers) is still printed."""

    exit_code = 2

    def __init__(self, message: str, result: dict, text: str):
        super().__init__(message)
        self.result, self.text = result, text


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own exit(2), but through our message format
        raise UsageError(f"{message} (see `python -m engine {self.prog.split(' ', 1)[-1] if ' ' in self.prog else ''} --help`)".replace("  ", " "))


def worker_list(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise_usage(f"--workers {text!r} must be a comma-separated list of whole numbers, e.g. 1,2.")
    if not values or min(values) < 1:
        raise_usage("--workers needs numbers of at least 1.")
    return values
