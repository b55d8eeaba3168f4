"""Splitting Telegram HTML into messages of at most 4096 visible characters.

Telegram counts a message's length after parsing its entities, so tags count nothing and "&amp;" counts one.
A text is cut at the last paragraph break that fits, else the last line break, else the last space, else
anywhere between two characters; never inside a tag or an entity. Formatting open at a cut is closed at the
end of one part and opened again at the start of the next, so every part is valid HTML on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_MESSAGE_CHARS = 4096

_TOKEN = re.compile(r"<[^>]*>|&(?:lt|gt|amp|quot|#[0-9]+|#[xX][0-9A-Fa-f]+);|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?([A-Za-z0-9-]+)")


@dataclass(frozen=True, slots=True)
class _Unit:
    raw: str
    visible: int  # 0 for a tag, 1 for a character or an entity
    tag: str = ""  # the tag's name, for tags
    closing: bool = False


def _units(html: str) -> list[_Unit]:
    units: list[_Unit] = []
    for match in _TOKEN.finditer(html):
        raw = match.group(0)
        if raw.startswith("<") and len(raw) > 1:
            name = _TAG_NAME.match(raw)
            units.append(_Unit(raw, 0, name.group(1).lower() if name else "", raw.startswith("</")))
        else:
            units.append(_Unit(raw, 1))
    return units


def visible_length(html: str) -> int:
    return sum(u.visible for u in _units(html))


def split_html(html: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Parts of `html`, each at most `limit` visible characters and balanced in its tags."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(html) <= limit:
        return [html] if html else []  # the common case: no character is shorter than its markup
    units = _units(html)
    parts: list[str] = []
    open_tags: list[_Unit] = []  # tags open where the current part starts
    start = 0
    while start < len(units):
        end, visible = start, 0
        while end < len(units) and visible + units[end].visible <= limit:
            visible += units[end].visible
            end += 1
        cut = end if end == len(units) else _best_cut(units, start, end)
        body = units[start:cut]
        closing = _still_open(open_tags, body)
        text = (
            "".join(u.raw for u in open_tags)
            + _rstrip(body)
            + "".join(f"</{u.tag}>" for u in reversed(closing))
        )
        if any(u.visible and not u.raw.isspace() for u in body):
            parts.append(text)
        open_tags = closing
        start = cut
        # The whitespace at a cut belongs to neither part.
        while start < len(units) and units[start].visible and units[start].raw.isspace():
            start += 1
    return parts or ([html] if html else [])


def _best_cut(units: list[_Unit], start: int, end: int) -> int:
    """Where to end the part that must stop before `end`: a paragraph, line or word boundary if any."""
    for boundary in ("\n\n", "\n", " "):
        width = len(boundary)
        for k in range(end, start + width, -1):
            if "".join(u.raw for u in units[k - width : k]) == boundary:
                return k
    return end


def _still_open(open_tags: list[_Unit], body: list[_Unit]) -> list[_Unit]:
    stack = list(open_tags)
    for unit in body:
        if unit.tag and unit.closing:
            if stack and stack[-1].tag == unit.tag:
                stack.pop()
        elif unit.tag and not unit.raw.endswith("/>"):
            stack.append(unit)
    return stack


def _rstrip(body: list[_Unit]) -> str:
    end = len(body)
    while end > 0 and body[end - 1].visible and body[end - 1].raw.isspace():
        end -= 1
    return "".join(u.raw for u in body[:end])
