"""Redis protocol (RESP2) replies parsed into numpy arrays, for bulk reads of a million keys.

Why not redis-py: it builds a Python object for every field of every reply. Reading a million learners'
counters that way costs about 7 µs a learner on a 2-core machine (43 µs through an asyncio pipeline), most
of it in object creation. Here a chunk of pipelined replies is parsed with a handful of numpy operations
over its bytes: line breaks are found all at once, bulk-string lengths and integers are read with
vectorised digit arithmetic, and values land directly in int64 or fixed-width bytes arrays.

The fast parse trusts that values hold no line break and do not start with "$" (true of counters, ids,
platform names, coupon codes); it checks every declared length against the line it found, and a chunk that
does not check out is parsed again, value by value, by hiredis (`parse_slow`).
"""

from __future__ import annotations

from dataclasses import dataclass

import hiredis
import numpy as np
from numpy.typing import NDArray

Ints = NDArray[np.int64]
Bytes = NDArray[np.bytes_]

_CR, _LF, _STAR, _DOLLAR, _COLON, _MINUS, _PLUS = 13, 10, 42, 36, 58, 45, 43


class RespError(Exception):
    """Redis answered a command with an error."""


class RespFormatError(Exception):
    """A reply is not shaped as the fast parser expects (it is then parsed the slow way)."""


def bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def command(*parts: bytes) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(bulk(p) for p in parts)


def keyed_commands(name: bytes, prefix: bytes, ids: Bytes, tail: tuple[bytes, ...] = ()) -> bytes:
    """`name prefix+id *tail` for every id, as one pipelined byte string, built with numpy.

    Commands whose ids have the same length share every byte but the id's, so each run of equal-length
    ids is one (commands x bytes) array: a template broadcast around the ids' bytes. Ids sorted by length
    make one run per length.
    """
    if len(ids) == 0:
        return b""
    head = b"*%d\r\n" % (2 + len(tail)) + bulk(name)
    after = np.frombuffer(b"\r\n" + b"".join(bulk(t) for t in tail), dtype=np.uint8)
    lengths = np.strings.str_len(ids)
    cuts = np.flatnonzero(np.diff(lengths)) + 1
    width = ids.dtype.itemsize
    matrix = np.ascontiguousarray(ids).view(np.uint8).reshape(len(ids), width)
    out = []
    for run in np.split(np.arange(len(ids)), cuts):
        size = int(lengths[run[0]])
        before = np.frombuffer(head + b"$%d\r\n" % (len(prefix) + size) + prefix, dtype=np.uint8)
        block = np.empty((len(run), len(before) + size + len(after)), dtype=np.uint8)
        block[:, : len(before)] = before
        block[:, len(before) : len(before) + size] = matrix[run, :size]
        block[:, len(before) + size :] = after
        out.append(block.tobytes())
    return b"".join(out)


@dataclass(frozen=True, slots=True)
class Replies:
    """Top-level array replies flattened: reply r holds items offsets[r]:offsets[r+1].

    Per item: `start` and `length` of a bulk string in `buf` (length -1 for nil) or, for an integer item,
    length -2 and the value in `integer`.
    """

    buf: NDArray[np.uint8]
    counts: Ints
    start: Ints
    length: Ints
    integer: Ints

    def take(self, items: Ints) -> Replies:
        """The given items (e.g. one field of every HMGET reply), as one-item replies."""
        return Replies(
            self.buf,
            np.ones(len(items), np.int64),
            self.start[items],
            self.length[items],
            self.integer[items],
        )

    def field(self, j: int, width: int) -> Replies:
        """Field j of fixed-width replies (HMGET of `width` fields)."""
        if len(self.counts) and not (self.counts == width).all():
            raise RespFormatError(f"expected {width} values per reply")
        return self.take(np.arange(j, len(self.length), width, dtype=np.int64))

    def columns(self, width: int, texts: frozenset[int] = frozenset()) -> list[NDArray[np.generic]]:
        """Fixed-width replies (HMGET of `width` fields) as one array per field: bytes for the fields in
        `texts`, integers (0 for nil) for the others."""
        return [
            self.field(j, width).texts() if j in texts else self.field(j, width).ints() for j in range(width)
        ]

    @property
    def offsets(self) -> Ints:
        return np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)

    def ints(self, default: int = 0) -> Ints:
        """Every item as an integer (bulk strings of digits or integer replies); nil gives `default`."""
        out = np.full(len(self.length), default, dtype=np.int64)
        is_int = self.length == -2
        out[is_int] = self.integer[is_int]
        has = self.length >= 0
        out[has] = parse_ints(self.buf, self.start[has], self.length[has])
        return out

    def texts(self) -> Bytes:
        """Every item as bytes (b"" for nil), in a fixed-width bytes array."""
        has = self.length >= 0
        width = int(self.length[has].max()) if has.any() else 1
        return gather(self.buf, np.where(has, self.start, 0), np.where(has, self.length, 0), max(width, 1))


def parse_ints(b: NDArray[np.uint8], start: Ints, length: Ints) -> Ints:
    """Decimal integers at b[start:start+length], all at once (one pass per digit position)."""
    if len(start) == 0:
        return np.zeros(0, dtype=np.int64)
    negative = b[start] == _MINUS
    start = start + negative
    length = length - negative
    width = int(length.max())
    if width > 18 or int(length.min()) <= 0:
        raise RespFormatError(f"not an integer of 1 to 18 digits (length {width})")
    last = len(b) - 1
    value = np.zeros(len(start), dtype=np.int64)
    for pos in range(width):
        inside = pos < length
        digit = b[np.minimum(start + pos, last)] - np.uint8(_ZERO)  # wraps below "0": one test catches both
        if (inside & (digit > 9)).any():
            raise RespFormatError("a value that should be an integer holds other characters")
        value = np.where(inside, value * 10 + digit, value)
    result: Ints = np.where(negative, -value, value)
    return result


_ZERO = 48


def gather(b: NDArray[np.uint8], start: Ints, length: Ints, width: int) -> Bytes:
    """Fixed-width bytes values b[start:start+length] (NUL-padded, which numpy's bytes type strips)."""
    last = len(b) - 1
    if len(start) * width <= _GATHER_AT_ONCE:
        pos = np.arange(width)
        chars = b[np.minimum(start[:, None] + pos, last)]
        chars[pos[None, :] >= length[:, None]] = 0
    else:  # a big reply: one pass per position keeps the temporaries small
        chars = np.zeros((len(start), width), dtype=np.uint8)
        for at in range(width):
            chars[:, at] = np.where(at < length, b[np.minimum(start + at, last)], 0)
    result: Bytes = np.ascontiguousarray(chars).view(f"S{width}").ravel()
    return result


_GATHER_AT_ONCE = 1 << 20


class IdIndex:
    """Positions of a million ids, found for the members of a set in a fraction of a second.

    Sorting byte strings is slow; their bytes read as 64-bit words and mixed into one number sort fast, and
    searching sorted numbers for sorted numbers walks both arrays once. Numbers that match are checked byte
    for byte, so a collision of the mix can never make a false match.
    """

    def __init__(self, ids: Bytes) -> None:
        self.ids = ids
        self._width = max(-(-ids.dtype.itemsize // 8) * 8, 8)
        self._words = self._as_words(ids)
        hashes = _mix(self._words)
        self._order = np.argsort(hashes)  # equal numbers (collisions) are settled below, in any order
        self._sorted = hashes[self._order]
        # Two ids with the same number (never seen, but possible) are told apart the slow way.
        self._exact = bool(len(hashes) < 2 or (np.diff(self._sorted) != 0).all())

    def _as_words(self, values: Bytes) -> NDArray[np.uint64]:
        # The column count is given, not inferred: numpy cannot infer it for an empty course.
        as_words = values.astype(f"S{self._width}").view(np.uint64)
        words: NDArray[np.uint64] = as_words.reshape(len(values), self._width // 8)
        return words

    def rows(self, keys: Bytes) -> Ints:
        """For each key, the position of the same id (-1 when it is not one of the ids)."""
        where = np.full(len(keys), -1, dtype=np.int64)
        if len(keys) == 0 or len(self.ids) == 0:
            return where
        # A key longer than every id matches none (and would be cut short by the fixed width below).
        fits = (
            np.flatnonzero(np.strings.str_len(keys) <= self._width)
            if keys.dtype.itemsize > self._width
            else np.arange(len(keys))
        )
        words = self._as_words(keys[fits])
        hashes = _mix(words)
        order = np.argsort(hashes)
        at = np.minimum(np.searchsorted(self._sorted, hashes[order]), len(self._sorted) - 1)
        hit = self._sorted[at] == hashes[order]
        rows = self._order[at[hit]]
        same = (self._words[rows] == words[order[hit]]).all(axis=1)
        where[fits[order[hit][same]]] = rows[same]
        if not self._exact:
            position = {v: i for i, v in enumerate(self.ids.tolist())}
            where = np.array([position.get(k, -1) for k in keys.tolist()], dtype=np.int64)
        return where

    def members(self, keys: Bytes) -> NDArray[np.bool_]:
        """Which ids are among `keys`."""
        found = np.zeros(len(self.ids), dtype=np.bool_)
        rows = self.rows(keys)
        found[rows[rows >= 0]] = True
        return found


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _mix(words: NDArray[np.uint64]) -> NDArray[np.uint64]:
    h = words[:, 0].copy()
    for k in range(1, words.shape[1]):
        h = (h ^ (h >> np.uint64(29))) * _MIX + words[:, k]
    return h


def parse(data: bytes) -> Replies:
    """Top-level array replies of bulk strings and integers, fast when possible, else via hiredis."""
    try:
        return parse_fast(data)
    except RespFormatError:
        return parse_slow(data)


def parse_fast(data: bytes) -> Replies:
    b = np.frombuffer(data, dtype=np.uint8)
    if len(b) == 0:
        return _empty(b)
    ends = np.flatnonzero((b[:-1] == _CR) & (b[1:] == _LF))
    starts = np.concatenate([[0], ends[:-1] + 2]).astype(np.int64)
    if len(ends) == 0 or ends[-1] + 2 != len(b):
        raise RespFormatError("replies do not end with a line break")
    first = b[starts]
    lengths = ends - starts
    # Bulk headers ("$n"); the line after one with n >= 0 is its data.
    dollar = np.flatnonzero(first == _DOLLAR)
    declared = (
        parse_ints(b, starts[dollar] + 1, lengths[dollar] - 1) if len(dollar) else np.zeros(0, np.int64)
    )
    data_line = np.zeros(len(starts), dtype=np.bool_)
    with_data = dollar[declared >= 0]
    if len(with_data) and with_data[-1] + 1 >= len(starts):
        raise RespFormatError("a bulk string header at the end of the replies")
    data_line[with_data + 1] = True
    if (data_line[dollar]).any():
        raise RespFormatError("a bulk string value starts with '$'")
    if not np.array_equal(lengths[with_data + 1], declared[declared >= 0]):
        raise RespFormatError("a bulk string's length does not match its line")
    header = ~data_line
    kinds = np.where(header, first, 0)
    if (kinds == _MINUS).any():
        line = int(np.flatnonzero(kinds == _MINUS)[0])
        raise RespError(data[starts[line] + 1 : ends[line]].decode(errors="replace"))
    arrays = np.flatnonzero(kinds == _STAR)
    items = np.flatnonzero((kinds == _DOLLAR) | (kinds == _COLON))
    if ((kinds == _PLUS).any()) or len(arrays) + len(items) != int(header.sum()):
        raise RespFormatError("only arrays of bulk strings and integers are parsed fast")
    counts = parse_ints(b, starts[arrays] + 1, lengths[arrays] - 1) if len(arrays) else np.zeros(0, np.int64)
    if (counts < 0).any() or int(counts.sum()) != len(items):
        raise RespFormatError("nested or nil arrays")
    # Every item must lie between its own array header and the next one.
    offsets = np.concatenate([[0], np.cumsum(counts)])
    filled = np.flatnonzero(counts > 0)
    following = np.append(arrays[1:], len(starts))
    if (items[offsets[filled]] < arrays[filled]).any() or (
        items[offsets[filled + 1] - 1] > following[filled]
    ).any():
        raise RespFormatError("items outside their arrays")
    is_int = first[items] == _COLON
    integer = np.zeros(len(items), dtype=np.int64)
    if is_int.any():
        integer[is_int] = parse_ints(b, starts[items[is_int]] + 1, lengths[items[is_int]] - 1)
    item_declared = np.full(len(items), -2, dtype=np.int64)
    # Every "$" line is an item here (values starting with "$" were refused above): reuse their lengths.
    item_declared[~is_int] = declared
    item_start = np.where(item_declared >= 0, starts[np.minimum(items + 1, len(starts) - 1)], 0)
    return Replies(b, counts.astype(np.int64), item_start.astype(np.int64), item_declared, integer)


def _empty(b: NDArray[np.uint8]) -> Replies:
    z = np.zeros(0, dtype=np.int64)
    return Replies(b, z, z, z, z)


def parse_slow(data: bytes) -> Replies:
    """The same result through hiredis, value by value: for replies the fast parser declines."""
    reader = hiredis.Reader()
    reader.feed(data)
    counts: list[int] = []
    pieces: list[bytes] = []
    start: list[int] = []
    length: list[int] = []
    integer: list[int] = []
    at = 0
    while (reply := reader.gets()) is not False:
        if isinstance(reply, hiredis.ReplyError):
            raise RespError(str(reply))
        if not isinstance(reply, list):
            raise RespFormatError(f"expected an array reply, got {type(reply).__name__}")
        counts.append(len(reply))
        for item in reply:
            if item is None:
                where, size, value = 0, -1, 0
            elif isinstance(item, int):
                where, size, value = 0, -2, item
            elif isinstance(item, bytes):
                where, size, value = at, len(item), 0
                pieces.append(item)
                at += len(item)
            else:
                raise RespFormatError(f"unexpected item {type(item).__name__} in an array reply")
            start.append(where)
            length.append(size)
            integer.append(value)
    buf = np.frombuffer(b"".join(pieces) or b"\0", dtype=np.uint8)
    return Replies(
        buf,
        np.array(counts, np.int64),
        np.array(start, np.int64),
        np.array(length, np.int64),
        np.array(integer, np.int64),
    )


def check_writes(data: bytes) -> int:
    """Count the replies of pipelined writes (integers or +OK), raising on the first error reply."""
    reader = hiredis.Reader()
    reader.feed(data)
    n = 0
    while (reply := reader.gets()) is not False:
        if isinstance(reply, hiredis.ReplyError):
            raise RespError(str(reply))
        n += 1
    return n
