"""Stream relay throughput: click redirects and heartbeats per second that ONE server process sustains.

    python -m bench.relay [--seconds 5] [--learners 15000] [--connections 64] [--rate 3000]
                          [--batch-window-ms 5] [--no-pin] [--profile FILE]

It starts a private redis-server, issues a personal link per learner for one live class, runs the relay as a
user does (`classpulse serve --config FILE`, pinned to one core with taskset when there are two or more), and
drives it from this process (pinned to another core) over many keep-alive HTTP/1.1 connections. Each client
request claims a different IP through X-Forwarded-For (the relay trusts 127.0.0.1 as its proxy), as real
traffic behind a reverse proxy would. For clicks and heartbeats, after a warm-up pass over every learner
(a class in full swing: each page open, the relay's caches warm), two phases:

    max    a closed loop of --connections requests in flight: the most the server does per second
    paced  requests started at --rate per second whatever happens (latency counts from the planned start,
           so a stalled server cannot hide its queue): the latency at the target rate

Target: at least 3,000 heartbeats/s with p99 under 50 ms on one core. The CPU use of server, load generator
and redis-server (from /proc) tells which was the limit, and the server's CPU per request what one free core
would do when the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from rich.console import Console
from rich.table import Table

from adapters.redis import RedisStore
from adapters.redis.local_server import LocalRedisServer, free_port
from bench.arguments import count, positive_float, positive_int
from bot.clock import SystemClock
from bot.config import Config, parse_config
from bot.domain import ClassSession, ClassState
from stream_relay.links import TrackedLinks
from stream_relay.tokens import LinkSigner

console = Console()
COURSE = "bench"
SECRET_ENV = "CLASSPULSE_BENCH_LINK_SECRET"
ZOOM = "https://us02web.zoom.us/j/85012345678"
REQUEST_TIMEOUT = 30.0  # seconds


def bench_toml(port: int, redis_url: str, interval: int, batch_window_ms: int) -> str:
    """The configuration the server runs with, as an admin would write it."""
    return f"""\
[storage]
redis_url = "{redis_url}"

[courses.{COURSE}]
name = "Bench"
price = 1.0
currency = "USD"

[relay]
enabled = true
public_base_url = "http://127.0.0.1:{port}"
port = {port}
heartbeat_interval = "{interval}s"
link_secret_env = "{SECRET_ENV}"
trusted_proxies = ["127.0.0.1"]
live_detection = false
batch_window_ms = {batch_window_ms}
"""


def bench_config(port: int, redis_url: str, interval: int, batch_window_ms: int) -> Config:
    return parse_config(tomllib.loads(bench_toml(port, redis_url, interval, batch_window_ms)))


def _classpulse() -> Path:
    """The `classpulse` command of this environment (beside the Python running the benchmark)."""
    script = Path(sys.executable).parent / "classpulse"
    if not script.exists():
        raise SystemExit(f"{script} not found: install ClassPulse into this environment (./dev.sh setup)")
    return script


# --- the load generator ---


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    server_cpu: float | None = None
    driver_cpu: float | None = None
    redis_cpu: float | None = None

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def server_cpu_per_request(self) -> float | None:
        """Server CPU seconds per request: what one core could do, whatever else ran on the machine."""
        if self.server_cpu is None or not self.latencies:
            return None
        return self.server_cpu * self.seconds / len(self.latencies)

    def quantile(self, q: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[round(q * 100) - 1]


class HttpConnection:
    """One keep-alive HTTP/1.1 connection, spoken by hand.

    aiohttp's client spends about as much CPU on a request as the relay's server does, so a load generator
    built on it, sharing the other core with redis-server, would measure itself rather than the relay.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self._reader = reader
        self._writer = writer
        self._host = host

    @classmethod
    async def open(cls, host: str, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(
        self, method: str, path: str, headers: str = "", body: bytes = b""
    ) -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self._host}\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
        )
        self._writer.write(head.encode() + body)
        async with asyncio.timeout(
            REQUEST_TIMEOUT
        ):  # a server that died mid-answer ends the run, not hangs it
            raw = await self._reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in raw.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            return int(raw[9:12]), await self._reader.readexactly(length) if length else b""

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


Request = Callable[[HttpConnection, int], Awaitable[str]]


def _cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _closed_loop(
    pool: list[HttpConnection], request: Request, phase: Phase, seconds: float, most: int = 1 << 62
) -> None:
    counter = iter(range(most))
    deadline = time.perf_counter() + seconds

    async def worker(connection: HttpConnection) -> None:
        while (start := time.perf_counter()) < deadline and (i := next(counter, None)) is not None:
            outcome = await request(connection, i)
            phase.latencies.append(time.perf_counter() - start)
            phase.outcomes[outcome] += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in pool))
    phase.seconds = time.perf_counter() - t0


async def _paced(
    pool: list[HttpConnection], request: Request, phase: Phase, seconds: float, rate: float
) -> None:
    idle: asyncio.Queue[HttpConnection] = asyncio.Queue()
    for connection in pool:
        idle.put_nowait(connection)
    tasks: set[asyncio.Task[None]] = set()

    async def one(i: int, planned: float) -> None:
        connection = await idle.get()  # waiting for a free connection counts: latency runs from `planned`
        try:
            outcome = await request(connection, i)
        finally:
            idle.put_nowait(connection)
        phase.latencies.append(time.perf_counter() - planned)
        phase.outcomes[outcome] += 1

    t0 = time.perf_counter()
    for i in range(int(seconds * rate)):
        planned = t0 + i / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(i, planned))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    phase.seconds = time.perf_counter() - t0


def _forwarded(i: int) -> str:
    # Addresses from the benchmarking range (RFC 2544): only written into a header, never contacted.
    return f"X-Forwarded-For: 198.18.{(i >> 8) & 255}.{i & 255}\r\n"


def _clicks(tokens: list[str]) -> Request:
    async def click(connection: HttpConnection, i: int) -> str:
        status, _ = await connection.request("GET", f"/j/{tokens[i % len(tokens)]}", _forwarded(i))
        return "redirect" if status == 302 else f"http {status}"

    return click


def _heartbeats(tokens: list[str], cursor: list[int]) -> Request:
    async def beat(connection: HttpConnection, i: int) -> str:
        # Learners take turns, so each heartbeats at most once per pass over all of them.
        n = cursor[0]
        cursor[0] += 1
        headers = _forwarded(n) + "Content-Type: text/plain\r\n"
        status, body = await connection.request("POST", "/hb", headers, tokens[n % len(tokens)].encode())
        return str(json.loads(body)["reason"]) if status == 200 else f"http {status}"

    return beat


async def _wait_healthy(base: str, server: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            if server.poll() is not None:
                raise SystemExit(f"the relay exited with {server.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise SystemExit("the relay did not become healthy")


async def _prepare(redis_url: str, secret: bytes, learners: int, base: str) -> list[str]:
    store = RedisStore.open(redis_url)
    try:
        clock = SystemClock()
        session = ClassSession(
            "c1", COURSE, "Bench class", ClassState.LIVE, started_at=clock.now(), stream_url=ZOOM
        )
        await store.classes.save(session)
        config = bench_config(0, redis_url, 5, 0).relay.model_copy(update={"public_base_url": base})
        links = TrackedLinks(LinkSigner(secret), store.relay, config, clock)
        tokens: list[str] = []
        ids = [f"web-{i}" for i in range(learners)]
        for start in range(0, learners, 5000):
            urls = await links.issue_many(session, ids[start : start + 5000], clock.now())
            tokens += [url.rsplit("/", 1)[1] for url in urls.values()]
        return tokens
    finally:
        await store.close()


async def _drive(
    args: argparse.Namespace, port: int, tokens: list[str], server_pid: int, redis_pid: int
) -> list[Phase]:
    phases: list[Phase] = []
    pool = [await HttpConnection.open("127.0.0.1", port) for _ in range(args.connections)]
    cursor = [0]
    try:
        for kind, request in (("clicks", _clicks(tokens)), ("heartbeats", _heartbeats(tokens, cursor))):
            # One pass over every learner first: a class in full swing, every page open, caches warm.
            await _closed_loop(pool, request, Phase("warm-up"), args.warm_up, most=len(tokens))
            for mode in ("max", "paced"):
                phase = Phase(f"{kind} {mode}")
                pids = (server_pid, os.getpid(), redis_pid)
                before, t0 = [_cpu_seconds(pid) for pid in pids], time.perf_counter()
                with console.status(f"{phase.name}…"):
                    if mode == "max":
                        await _closed_loop(pool, request, phase, args.seconds)
                    else:
                        await _paced(pool, request, phase, args.seconds, args.rate)
                after, elapsed = [_cpu_seconds(pid) for pid in pids], time.perf_counter() - t0
                shares = [
                    (b - a) / elapsed if a is not None and b is not None else None
                    for a, b in zip(before, after, strict=True)
                ]
                phase.server_cpu, phase.driver_cpu, phase.redis_cpu = shares
                phases.append(phase)
    finally:
        for connection in pool:
            await connection.close()
    return phases


def _pin(pid: int, core: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(pid, {core})


def run(args: argparse.Namespace) -> list[Phase]:
    secret = secrets.token_urlsafe(32)
    os.environ[SECRET_ENV] = secret  # a fresh one per run, for the links issued here and for the server
    pin = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None and not args.no_pin
    with LocalRedisServer() as redis_server:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with console.status(f"issuing {args.learners:,} personal links…"):
            tokens = asyncio.run(_prepare(redis_server.url, secret.encode(), args.learners, base))
        config_file = Path(tempfile.mkdtemp(prefix="classpulse-bench-")) / "relay.toml"
        config_file.write_text(bench_toml(port, redis_server.url, args.interval, args.batch_window_ms))
        profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
        # The server as a user runs it: `classpulse serve --config FILE`.
        command = [sys.executable, *profile, str(_classpulse()), "serve", "--config", str(config_file)]
        own_cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        if pin:
            command = ["taskset", "-c", "1", *command]
            _pin(0, 0)  # the load generator, and redis beside it: core 1 is the server's alone
            if redis_server.pid:
                _pin(redis_server.pid, 0)
        server = subprocess.Popen(command, cwd=config_file.parent)
        try:
            asyncio.run(_wait_healthy(base, server))
            return asyncio.run(_drive(args, port, tokens, server.pid, redis_server.pid or 0))
        finally:
            if own_cores is not None:
                os.sched_setaffinity(0, own_cores)
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            shutil.rmtree(config_file.parent, ignore_errors=True)


def report(args: argparse.Namespace, phases: list[Phase]) -> None:
    pinned = "server pinned to one core" if not args.no_pin else "not pinned"
    table = Table(
        title=f"Stream relay, one server process ({pinned}), {args.connections} connections, "
        f"{args.learners:,} learners, batch window {args.batch_window_ms} ms"
    )
    for column in (
        "phase",
        "requests",
        "per second",
        "p50 ms",
        "p99 ms",
        "CPU server/driver/redis",
        "server CPU µs/request",
        "outcomes",
    ):
        table.add_column(column, justify="left" if column in ("phase", "outcomes") else "right")
    for phase in phases:
        cpu = " / ".join(
            f"{c:.0%}" if c is not None else "?"
            for c in (phase.server_cpu, phase.driver_cpu, phase.redis_cpu)
        )
        outcomes = ", ".join(f"{k} {v:,}" for k, v in phase.outcomes.most_common())
        table.add_row(
            phase.name,
            f"{len(phase.latencies):,}",
            f"{phase.rate:,.0f}",
            f"{phase.quantile(0.5) * 1000:.1f}",
            f"{phase.quantile(0.99) * 1000:.1f}",
            cpu,
            f"{per * 1e6:.0f}" if (per := phase.server_cpu_per_request) is not None else "?",
            outcomes,
        )
    console.print(table)
    beats = next((p for p in phases if p.name == "heartbeats max"), None)
    paced = next((p for p in phases if p.name == "heartbeats paced"), None)
    if beats and beats.server_cpu_per_request:
        console.print(
            f"server CPU per heartbeat: {beats.server_cpu_per_request * 1e6:.0f} µs, so one free core does "
            f"about {1 / beats.server_cpu_per_request:,.0f} heartbeats/s"
        )
    if beats and paced:
        sustained = args.rate >= 3000 and paced.rate >= 0.95 * args.rate  # the paced phase kept its schedule
        ok = beats.rate >= 3000 and sustained and paced.quantile(0.99) < 0.05
        verdict = "meets" if ok else "MISSES"
        console.print(
            f"heartbeats: {beats.rate:,.0f}/s at most; p99 {paced.quantile(0.99) * 1000:.1f} ms at "
            f"{paced.rate:,.0f}/s → {verdict} the target (≥ 3,000/s with p99 < 50 ms on one core)"
        )


def main(argv: list[str] | None = None) -> list[Phase]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=positive_float, default=5.0, help="length of each measured phase")
    parser.add_argument(
        "--learners",
        type=positive_int,
        default=15_000,
        help="at --rate heartbeats/s, each learner beats every learners/rate s",
    )
    parser.add_argument(
        "--connections", type=positive_int, default=64, help="requests in flight in the max phases"
    )
    parser.add_argument(
        "--rate", type=positive_float, default=3000, help="requests per second in the paced phases"
    )
    parser.add_argument(
        "--interval", type=positive_int, default=4, help="heartbeat interval of the relay, seconds"
    )
    parser.add_argument("--batch-window-ms", type=count, default=5)
    parser.add_argument(
        "--warm-up", type=positive_float, default=60.0, help="longest the warm-up pass may take, seconds"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument("--profile", metavar="FILE", help="profile the server with cProfile into FILE")
    args = parser.parse_args(argv)
    phases = run(args)
    report(args, phases)
    return phases


if __name__ == "__main__":
    main()
