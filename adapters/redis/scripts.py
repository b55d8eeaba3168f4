"""The Lua scripts that make multi-key updates atomic, loaded once per client."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def lua(name: str) -> str:
    return (files("adapters.redis") / "lua" / f"{name}.lua").read_text(encoding="utf-8")
