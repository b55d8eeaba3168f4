"""Splitting a long message into parts a platform accepts, the way a careful person would.

Works on neutral markup (see `bot.formatting`) and measures each part as rendered for the platform, so that
escaping can never push a part over the limit. A part ends, in order of preference, at a paragraph break, a
line break, the end of a sentence or a space, and only as a last resort in the middle of a word. Formatting
open at a cut (bold, a link) is closed at the end of the part and reopened at the start of the next; a cut
never falls inside a mention, which would ping the person twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.platforms import Platform

# The tag syntax belongs to bot.formatting; the splitter is its only other reader.
from bot.formatting import _CLOSE, _OPEN, _TAG, render

_SENTENCE_END = frozenset(".!?…。！？")
_SPACE = frozenset(" \n\t")
# Break preferences: lower is better.
_PARAGRAPH, _LINE, _SENTENCE, _WORD = range(4)


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str  # one character, or a whole tag with its delimiters
    tag: str = ""  # the tag's name when this unit is a tag

    @property
    def char(self) -> str:
        return "" if self.tag else self.text


def _units(text: str) -> list[_Unit]:
    out: list[_Unit] = []
    pos = 0
    for match in _TAG.finditer(text):
        out.extend(_Unit(c) for c in text[pos : match.start()])
        out.append(_Unit(match.group(0), tag=match.group(1)))
        pos = match.end()
    out.extend(_Unit(c) for c in text[pos:])
    return out


def _closing(tag: str) -> str:
    name = "a" if tag.startswith("a ") else "@" if tag.startswith("@") else tag
    return f"{_OPEN}/{name}{_CLOSE}"


def _open_stacks(units: list[_Unit]) -> list[tuple[str, ...]]:
    """For every position, the tags open before it (outermost first)."""
    stacks: list[tuple[str, ...]] = [()]
    current: list[str] = []
    for unit in units:
        if unit.tag.startswith("/"):
            if current:
                current.pop()
        elif unit.tag:
            current.append(unit.tag)
        stacks.append(tuple(current))
    return stacks


def _priority(units: list[_Unit], k: int) -> int | None:
    """How good a cut before units[k] is, or None where no careful person would cut."""
    last = units[k - 1].char
    before = units[k - 2].char if k >= 2 else ""
    if last == "\n":
        return _PARAGRAPH if before == "\n" else _LINE
    if last in _SPACE:
        return _SENTENCE if before in _SENTENCE_END else _WORD
    if last in "。！？":  # CJK sentences end without a space
        return _SENTENCE
    return None


class _Splitter:
    def __init__(self, text: str, limit: int, platform: Platform) -> None:
        self.units = _units(text)
        self.stacks = _open_stacks(self.units)
        self.limit = limit
        self.platform = platform

    def part(self, i: int, j: int) -> str:
        while j > i and self.units[j - 1].char in _SPACE:
            j -= 1
        opened = "".join(f"{_OPEN}{tag}{_CLOSE}" for tag in self.stacks[i])
        body = "".join(u.text for u in self.units[i:j])
        closed = "".join(_closing(tag) for tag in reversed(self.stacks[j]))
        return render(opened + body + closed, self.platform)

    def fits(self, i: int, j: int) -> bool:
        return len(self.part(i, j)) <= self.limit

    def skip_space(self, i: int) -> int:
        while i < len(self.units) and self.units[i].char in _SPACE:
            i += 1
        return i

    def in_mention(self, k: int) -> bool:
        return any(tag.startswith("@") for tag in self.stacks[k])

    def furthest_fit(self, i: int) -> int:
        lo, hi = i + 1, len(self.units)
        if not self.fits(i, lo):
            raise ValueError(
                f"a limit of {self.limit} characters cannot hold even one character of this text"
            )
        while lo < hi:  # the largest j with fits(i, j)
            mid = (lo + hi + 1) // 2
            if self.fits(i, mid):
                lo = mid
            else:
                hi = mid - 1
        return lo

    def cut(self, i: int, end: int) -> int:
        """Where the part starting at i ends, given that it may run to `end` at most."""
        candidates = [(k, p) for k in range(i + 1, end + 1) if (p := _priority(self.units, k)) is not None]
        candidates = [(k, p) for k, p in candidates if not self.in_mention(k)]
        # A careful person fills a part before cutting: a paragraph, line or sentence end in the last two
        # thirds of the room, else a space in its second half, else the best cut there is at all.
        room = end - i
        preferences = [
            (_PARAGRAPH, room // 3),
            (_LINE, room // 3),
            (_SENTENCE, room // 3),
            (_WORD, room // 2),
        ]
        preferences += [(wanted, 0) for wanted in (_PARAGRAPH, _LINE, _SENTENCE, _WORD)]
        for wanted, floor in preferences:
            ks = [k for k, p in candidates if p == wanted and k > i + floor]
            if ks:
                return max(ks)
        k = end
        while k > i + 1 and self.in_mention(k):
            k -= 1
        return k

    def split(self) -> list[str]:
        parts: list[str] = []
        i = self.skip_space(0)
        n = len(self.units)
        while i < n:
            end = n if self.fits(i, n) else self.cut(i, self.furthest_fit(i))
            part = self.part(i, end)
            if part.strip():
                parts.append(part)
            i = self.skip_space(end)
        return parts


def split_rendered(text: str, limit: int, platform: Platform) -> list[str]:
    """`text` (neutral markup) rendered for `platform`, in parts of at most `limit` characters each.

    Blank text gives no parts.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    whole = render(text, platform)
    if len(whole) <= limit:
        return [whole] if whole.strip() else []
    return _Splitter(text, limit, platform).split()
