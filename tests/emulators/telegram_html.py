"""Telegram's HTML parse mode, as the Bot API server applies it: text and entities, or the error it answers.

Follows the rules of https://core.telegram.org/bots/api#html-style and the wording of the server's errors
("can't parse entities: Unsupported start tag "x" at byte offset N", ...). Like the real server, a bare "&"
that starts no known entity is kept as it is; "<" always starts a tag.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

# Supported tags and the entity type each makes (aliases share one type).
_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAME = re.compile(r"[A-Za-z0-9-]*")
_ATTR = re.compile(r"\s*([A-Za-z-]+)\s*(?:=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|lt|gt|amp|quot);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HtmlError(ValueError):
    """The text does not parse; the message is what Telegram answers after "Bad Request: "."""


@dataclass
class _Open:
    name: str
    entity: dict[str, Any]
    start: int  # UTF-16 offset of the entity's first character
    byte: int


@dataclass
class Parsed:
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> Parsed:
    out: list[str] = []
    offset = 0  # UTF-16 length of `out`
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i = 0
    n = len(source)

    def byte_at(pos: int) -> int:
        return len(source[:pos].encode("utf-8"))

    def fail(message: str) -> HtmlError:
        return HtmlError(f"can't parse entities: {message}")

    while i < n:
        char = source[i]
        if char == "&":
            match = _ENTITY.match(source, i)
            if match:
                value = (
                    html.unescape(match.group(0))
                    if match.group(1).startswith("#")
                    else _NAMED[match.group(1)]
                )
                out.append(value)
                offset += utf16_len(value)
                i = match.end()
                continue
            out.append("&")
            offset += 1
            i += 1
            continue
        if char != "<":
            out.append(char)
            offset += utf16_len(char)
            i += 1
            continue
        end = source.find(">", i)
        if source.startswith("</", i):
            if end < 0:
                raise fail(f"Unclosed end tag at byte offset {byte_at(i)}")
            name = source[i + 2 : end].strip().lower()
            if not stack:
                raise fail(f"Unexpected end tag at byte offset {byte_at(i)}")
            top = stack.pop()
            if name != top.name:
                expected = f'expected "</{top.name}>", found "</{name}>"'
                raise fail(f"Unmatched end tag at byte offset {byte_at(i)}, {expected}")
            length = offset - top.start
            if length > 0 and top.entity:
                entities.append({**top.entity, "offset": top.start, "length": length})
            i = end + 1
            continue
        name_match = _NAME.match(source, i + 1)
        name = name_match.group(0).lower() if name_match else ""
        if name not in _TAGS:
            raise fail(f'Unsupported start tag "{name}" at byte offset {byte_at(i)}')
        if end < 0:
            raise fail(f"Unclosed start tag at byte offset {byte_at(i)}")
        attributes = _attributes(source[i + 1 + len(name) : end].rstrip("/"))
        entity = _entity_for(name, attributes)
        stack.append(_Open(name, entity, offset, byte_at(i)))
        i = end + 1
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return Parsed("".join(out), entities)


def _attributes(raw: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _ATTR.finditer(raw):
        if match.group(1):
            value = next((g for g in match.group(2, 3, 4) if g is not None), "")
            found[match.group(1).lower()] = html.unescape(value)
    return found


def _entity_for(name: str, attributes: dict[str, str]) -> dict[str, Any]:
    kind = _TAGS[name]
    if name == "span" and attributes.get("class") != "tg-spoiler":
        return {}  # a plain span is allowed and formats nothing
    if name == "a":
        href = attributes.get("href", "")
        if not href:
            return {}
        user = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if user:
            return {
                "type": "text_mention",
                "user": {"id": int(user.group(1)), "is_bot": False, "first_name": ""},
            }
        return {"type": "text_link", "url": href}
    if name == "pre" and "language" in attributes:
        return {"type": "pre", "language": attributes["language"]}
    if name == "blockquote" and "expandable" in attributes:
        return {"type": "expandable_blockquote"}
    if name == "tg-emoji":
        return {"type": kind, "custom_emoji_id": attributes.get("emoji-id", "")}
    return {"type": kind}
