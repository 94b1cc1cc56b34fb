"""Numbers for people: seconds, shares, ratios and counts as a reader wants them, never "0.0 s" or "1 workers"."""

from __future__ import annotations


def seconds(value: float) -> str:
    if value < 0.1:
        return "<0.1 s"
    if value < 10:
        return f"{value:.1f} s"
    if value < 120:
        return f"{value:.0f} s"
    return f"{value / 60:.1f} min"


def share(value: float) -> str:
    """A fraction as a percentage; never claims 0% or 100% for an estimate."""
    if value >= 0.999:
        return ">99.9%"
    if 0 < value < 0.001:
        return "<0.1%"
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


def probability(p: float) -> str:
    """A model's probability with one decimal: never "100%" or "0%" for an estimate."""
    if p >= 0.999:
        return ">99.9%"
    if p < 0.001:
        return "<0.1%"
    return f"{p:.1%}"


def ratio(value: float) -> str:
    return f"{value:.1f}x" if value < 10 else f"{value:.0f}x"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``count(1, "worker")`` -> "1 worker"; ``count(2, "worker")`` -> "2 workers"."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"
