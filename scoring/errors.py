"""The scoring engine's errors: a user's mistake, said in one line, never a traceback."""

from __future__ import annotations


class ScoringError(Exception):
    """Bad input to training or scoring (a missing file, an unknown column, a table without rows)."""


class FeatureMismatch(ScoringError):
    """A saved model is given columns that differ from those it was trained on."""

    def __init__(self, missing: list[str], extra: list[str], retyped: list[str]) -> None:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra)}")
        if retyped:
            parts.append(f"of another type {', '.join(retyped)}")
        super().__init__(f"the model does not fit these columns: {'; '.join(parts)}")
        self.missing = missing
        self.extra = extra
        self.retyped = retyped
