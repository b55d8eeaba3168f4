"""Configuration problems, each tied to a key path and phrased for the admin who must fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    path: str  # e.g. "campaigns[0].steps[1].offset"
    message: str  # what is wrong
    expected: str = ""  # what would be right

    def render(self, source: str) -> str:
        tail = f" ({self.expected})" if self.expected else ""
        where = f"{self.path}: " if self.path else ""
        return f"{source}: {where}{self.message}{tail}"


class ConfigError(Exception):
    """Raised by the loader with every problem found, never just the first."""

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(p.render(source) for p in problems))


class Invalid(ValueError):
    """Raised inside validators: carries what was expected apart from what was wrong."""

    def __init__(self, message: str, expected: str = "", path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        # Where inside the validated value the mistake is (an audience tree, say), below the field's path.
        self.path = path


def join_path(parts: tuple[str | int, ...]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
