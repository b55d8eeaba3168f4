"""Argument types for the benchmarks: a wrong value is an argparse usage error naming the option, never a
traceback from deep inside a run."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from scoring.candidates import CANDIDATES

T = TypeVar("T")


def _whole(text: str, least: int, below: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{value} {below}")
    return value


def positive_int(text: str) -> int:
    return _whole(text, 1, "is not positive (1 or more)")


def folds(text: str) -> int:
    """Cross-validation folds: at least 2 (one to train on, one to test)."""
    return _whole(text, 2, "fold cannot cross-validate (2 or more)")


def count(text: str) -> int:
    """A whole number that may be 0 (0 skips that part)."""
    return _whole(text, 0, "is negative")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not above 0")
    return value


def listed(item: Callable[[str], T]) -> Callable[[str], list[T]]:
    """A comma-separated list of `item`s: '30,1000'."""

    def parse(text: str) -> list[T]:
        items = [part.strip() for part in text.split(",") if part.strip()]
        if not items:
            raise argparse.ArgumentTypeError("an empty list (give comma-separated values)")
        return [item(part) for part in items]

    return parse


def candidate(text: str) -> str:
    if text not in CANDIDATES:
        raise argparse.ArgumentTypeError(f"no model {text!r} (one of {', '.join(CANDIDATES)})")
    return text


def readable_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path
