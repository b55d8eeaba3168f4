"""Bulk commands over a million keys: one command per key, pipelined in chunks, replies as numpy arrays.

`RawBulk` speaks the Redis protocol on its own connection: commands are written chunk after chunk while the
replies of earlier chunks are parsed (resp.py), so Redis and Python work at the same time. Each chunk ends
with an ECHO of a random marker, whose reply marks where the chunk's replies end without parsing them one by
one. `ClientBulk` does the same through a redis-py client: it serves `memory://` (fakeredis, which has no
socket) and small reads; both give identical results.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import ssl
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

import hiredis
import numpy as np
import redis.asyncio as aioredis
from numpy.typing import NDArray

from adapters.redis.resp import Bytes, Replies, bulk, check_writes, command, keyed_commands, parse

CHUNK = 5000  # commands per chunk: big enough to amortise, small enough to overlap reading and parsing


class Bulk(Protocol):
    """Keys are a prefix and an array of ids (prefix + id each); ids sorted by length are fastest."""

    async def hmget(
        self, prefix: bytes, ids: Bytes, fields: Sequence[bytes], texts: frozenset[int] = frozenset()
    ) -> list[NDArray[np.generic]]:
        """One array per field: bytes for the fields numbered in `texts`, integers (0 for nil) otherwise."""
        ...

    async def smembers(self, key: bytes) -> Bytes: ...

    async def smembers_each(self, keys: Sequence[bytes]) -> list[Bytes]: ...

    async def hgetall(self, key: bytes) -> Replies: ...

    async def smismember(self, key: bytes, members: Sequence[bytes]) -> NDArray[np.bool_]: ...

    async def write(self, commands: Sequence[tuple[bytes, ...]]) -> None: ...

    async def send(self, payloads: Iterable[bytes], count: int) -> None:
        """Send `count` payloads of commands already in protocol form; raise on an error reply."""
        ...

    async def close(self) -> None: ...


def concat(parts: Sequence[Replies]) -> Replies:
    """Replies of several chunks as one (buffers joined, offsets shifted)."""
    if len(parts) == 1:
        return parts[0]
    shifts = np.cumsum([0] + [len(p.buf) for p in parts[:-1]])
    return Replies(
        np.concatenate([p.buf for p in parts]) if parts else np.zeros(0, np.uint8),
        np.concatenate([p.counts for p in parts]).astype(np.int64),
        np.concatenate(
            [np.where(p.length >= 0, p.start + s, 0) for p, s in zip(parts, shifts, strict=True)]
        ).astype(np.int64),
        np.concatenate([p.length for p in parts]).astype(np.int64),
        np.concatenate([p.integer for p in parts]).astype(np.int64),
    )


class RawBulk:
    """A private protocol-level connection for bulk reads and writes (redis://, rediss://, unix://)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._tag = b"cp-bulk-" + secrets.token_hex(8).encode()

    @classmethod
    async def open(cls, url: str) -> RawBulk:
        parts = urlparse(url)
        if parts.scheme == "unix":
            reader, writer = await asyncio.open_unix_connection(parts.path)
        elif parts.scheme in ("redis", "rediss"):
            context = ssl.create_default_context() if parts.scheme == "rediss" else None
            reader, writer = await asyncio.open_connection(
                parts.hostname or "localhost", parts.port or 6379, ssl=context
            )
        else:
            raise ValueError(
                f"bulk connections need a redis://, rediss:// or unix:// URL, not {parts.scheme}://"
            )
        self = cls(reader, writer)
        setup: list[bytes] = []
        if parts.password:
            user = unquote(parts.username) if parts.username else ""
            auth = (
                (b"AUTH", user.encode(), unquote(parts.password).encode())
                if user
                else (b"AUTH", unquote(parts.password).encode())
            )
            setup.append(command(*auth))
        db = (parts.path or "/0").lstrip("/") if parts.scheme != "unix" else ""
        if db and db != "0":
            setup.append(command(b"SELECT", db.encode()))
        if setup:
            await self._exchange(iter([b"".join(setup)]), 1, check_writes)
        return self

    async def close(self) -> None:
        self._writer.close()
        # The server may have gone first; nothing is left to flush then.
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()

    async def _exchange(self, chunks: Iterator[bytes], count: int, handle: Callable[[bytes], Any]) -> None:
        """Write `count` chunks (each followed by a marker ECHO), reading and handing over their replies."""

        async def write() -> None:
            for k, chunk in enumerate(chunks):
                self._writer.write(chunk + command(b"ECHO", self._tag + b"%d" % k))
                await self._writer.drain()

        async def read() -> None:
            buf = bytearray()
            for k in range(count):
                marker = bulk(self._tag + b"%d" % k)
                searched = 0
                while (at := buf.find(marker, searched)) < 0:
                    searched = max(len(buf) - len(marker) + 1, 0)
                    data = await self._reader.read(1 << 20)
                    if not data:
                        raise ConnectionError("Redis closed the connection during a bulk exchange")
                    buf += data
                handle(bytes(buf[:at]))
                del buf[: at + len(marker)]

        async with asyncio.TaskGroup() as group:  # one failing cancels the other
            group.create_task(write())
            group.create_task(read())

    async def _replies(
        self,
        name: bytes,
        prefix: bytes,
        ids: Bytes,
        tail: tuple[bytes, ...],
        handle: Callable[[Replies], None],
    ) -> None:
        chunks = (
            keyed_commands(name, prefix, ids[at : at + CHUNK], tail) for at in range(0, len(ids), CHUNK)
        )
        await self._exchange(chunks, -(-len(ids) // CHUNK), lambda data: handle(parse(data)))

    async def hmget(
        self, prefix: bytes, ids: Bytes, fields: Sequence[bytes], texts: frozenset[int] = frozenset()
    ) -> list[NDArray[np.generic]]:
        # Each chunk's replies become arrays at once: its bytes are dropped before the next chunk arrives.
        parts: list[list[NDArray[np.generic]]] = []
        await self._replies(
            b"HMGET",
            prefix,
            ids,
            tuple(fields),
            lambda replies: parts.append(replies.columns(len(fields), texts)),
        )
        return [_joined([p[j] for p in parts], j in texts) for j in range(len(fields))]

    async def smembers(self, key: bytes) -> Bytes:
        parts: list[Replies] = []
        await self._replies(b"SMEMBERS", key, np.array([b""]), (), parts.append)
        return parts[0].texts()

    async def smembers_each(self, keys: Sequence[bytes]) -> list[Bytes]:
        """Several whole sets, pipelined: Redis reads the next set while the last one is parsed."""
        found: list[Bytes] = []
        chunks = (command(b"SMEMBERS", key) for key in keys)
        await self._exchange(chunks, len(keys), lambda data: found.append(parse(data).texts()))
        return found

    async def hgetall(self, key: bytes) -> Replies:
        parts: list[Replies] = []
        await self._replies(b"HGETALL", key, np.array([b""]), (), parts.append)
        return parts[0]

    async def smismember(self, key: bytes, members: Sequence[bytes]) -> NDArray[np.bool_]:
        if not members:
            return np.zeros(0, dtype=np.bool_)
        parts: list[Replies] = []
        chunks = (
            command(b"SMISMEMBER", key, *members[at : at + CHUNK]) for at in range(0, len(members), CHUNK)
        )
        await self._exchange(chunks, -(-len(members) // CHUNK), lambda data: parts.append(parse(data)))
        found: NDArray[np.bool_] = concat(parts).ints() == 1
        return found

    async def write(self, commands: Sequence[tuple[bytes, ...]]) -> None:
        groups = range(0, len(commands), 64)  # small commands travel 64 to a chunk
        await self.send((b"".join(command(*c) for c in commands[at : at + 64]) for at in groups), len(groups))

    async def send(self, payloads: Iterable[bytes], count: int) -> None:
        await self._exchange(iter(payloads), count, check_writes)


def commands_in(payload: bytes) -> list[list[bytes]]:
    """The commands of a payload in protocol form (a request is an array of bulk strings, like a reply)."""
    reader = hiredis.Reader()
    reader.feed(payload)
    found = []
    while (command_ := reader.gets()) is not False:
        found.append(command_)
    return found


def _joined(parts: list[NDArray[np.generic]], text: bool) -> NDArray[np.generic]:
    if not parts:
        return np.zeros(0, dtype="S1" if text else np.int64)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _b(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class ClientBulk:
    """The same operations through a redis-py client (pipelined): for memory:// and small reads."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client

    async def close(self) -> None:
        """The client belongs to the store; nothing to close here."""

    async def _pipelined(self, calls: Sequence[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        out: list[Any] = []
        for at in range(0, len(calls), CHUNK):
            async with self._client.pipeline(transaction=False) as pipe:
                for name, args in calls[at : at + CHUNK]:
                    getattr(pipe, name)(*args)
                out.extend(await pipe.execute())
        return out

    async def hmget(
        self, prefix: bytes, ids: Bytes, fields: Sequence[bytes], texts: frozenset[int] = frozenset()
    ) -> list[NDArray[np.generic]]:
        names = [f.decode() for f in fields]
        rows = await self._pipelined([("hmget", ((prefix + i).decode(), names)) for i in ids.tolist()])
        return (
            _as_replies(rows).columns(len(fields), texts)
            if rows
            else [_joined([], j in texts) for j in range(len(fields))]
        )

    async def smembers(self, key: bytes) -> Bytes:
        members = sorted(_b(m) for m in await self._client.smembers(key.decode()))
        return np.array(members, dtype=np.bytes_) if members else np.zeros(0, dtype="S1")

    async def smembers_each(self, keys: Sequence[bytes]) -> list[Bytes]:
        return [await self.smembers(key) for key in keys]

    async def hgetall(self, key: bytes) -> Replies:
        pairs = await self._client.hgetall(key.decode())
        return _as_replies([[x for kv in sorted(pairs.items()) for x in kv]])

    async def smismember(self, key: bytes, members: Sequence[bytes]) -> NDArray[np.bool_]:
        if not members:
            return np.zeros(0, dtype=np.bool_)
        found = await self._client.smismember(key.decode(), [m.decode() for m in members])
        return np.array([bool(f) for f in found], dtype=np.bool_)

    async def write(self, commands: Sequence[tuple[bytes, ...]]) -> None:
        for at in range(0, len(commands), 64):
            async with self._client.pipeline(transaction=False) as pipe:
                for c in commands[at : at + 64]:
                    pipe.execute_command(*c)
                await pipe.execute()

    async def send(self, payloads: Iterable[bytes], count: int) -> None:
        await self.write([tuple(c) for p in payloads for c in commands_in(p)])


def _as_replies(rows: Sequence[Sequence[Any]]) -> Replies:
    pieces: list[bytes] = []
    start: list[int] = []
    length: list[int] = []
    at = 0
    for row in rows:
        for item in row:
            if item is None:
                start.append(0)
                length.append(-1)
                continue
            value = _b(item)
            pieces.append(value)
            start.append(at)
            length.append(len(value))
            at += len(value)
    return Replies(
        np.frombuffer(b"".join(pieces) or b"\0", dtype=np.uint8),
        np.array([len(r) for r in rows], np.int64),
        np.array(start, np.int64),
        np.array(length, np.int64),
        np.zeros(len(start), np.int64),
    )
