"""Sending to Telegram through the outbox: the rate reached against the limit, 429s, exactly-once delivery.

    python -m bench.telegram_send [--messages 3000] [--limits 30,1000] [--faults 10] [--dispatchers 1]
                                  [--profile] [--redis URL]

For each limit, once without and once with injected 429 answers: N personal messages to N private chats are
queued in the outbox (a real redis-server: a private one unless --redis is given), and the real `Dispatcher`
(with the example configuration's guards, quiet hours off) drains it through the real `TelegramMessenger`
and its rate governor into the Telegram Bot API emulator, which runs in a process of its own and enforces
the same limit. Printed per run: the rate reached as a share of the limit, the 429 answers (from the
limits, and injected), and whether every message reached its chat exactly once (counted by the emulator).
Target: at least 95 % of the limit with no 429 when both limits agree.

`--dispatchers K` runs K dispatcher processes sharing the outbox's consumer group, as a deployment scales
out; each one's governor takes 1/K of the bot's limit (Telegram counts per bot, not per process). A second
table says where each message's time goes: Redis round trips and the time awaiting them, the time in the
messenger (governor wait and HTTP call), and the CPU the dispatcher process(es) spent. `--profile` adds a
profiled run at the highest limit and splits that CPU by part (aiogram, aiohttp, redis-py, the event loop,
the dispatcher, the store, the messenger and governor).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import sys
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Awaitable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from adapters.redis import RedisStore
from adapters.redis.local_server import LocalRedisServer
from adapters.telegram.client import make_bot
from adapters.telegram.governor import RateGovernor
from adapters.telegram.messenger import TelegramMessenger
from bench.arguments import count, listed, positive_float, positive_int
from bot import formatting
from bot.clock import SystemClock
from bot.config import Config, parse_config
from bot.config.telegram import TelegramConfig, TelegramLimits
from bot.domain import Delivery, OutboundMessage, Platform
from bot.ports import Activity, Learners, Messenger, Outbox
from campaigns.dispatcher import Dispatcher
from campaigns.guards import Guards
from tests.emulators.telegram_server import EmulatorProcess

console = Console(stderr=True)
T = TypeVar("T")
CAMPAIGN, STEP = "bench", "send"
LINK = formatting.link("watch", "https://live.example.com/python101?l=abc")
FINISHED = ("delivered", "dead", "dropped", "unreachable", "suppressed", "capped")
EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


@dataclass
class Timings:
    """Calls and the time spent awaiting them, per operation."""

    calls: Counter[str] = field(default_factory=Counter)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    async def timed(self, name: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await call
        finally:
            self.calls[name] += 1
            self.seconds[name] += time.perf_counter() - started


class Timed:
    """Wraps a store part or a messenger: every coroutine method it has is counted and timed."""

    def __init__(self, inner: Any, prefix: str, timings: Timings) -> None:
        self._inner = inner
        self._prefix = prefix
        self._timings = timings

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not asyncio.iscoroutinefunction(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Awaitable[Any]:
            return self._timings.timed(f"{self._prefix}.{name}", value(*args, **kwargs))

        return call


class Clocked:
    """The messenger, noting when the first send began and the last one ended (wall clock, any process)."""

    def __init__(self, inner: TelegramMessenger) -> None:
        self._inner = inner
        self.first = 0.0
        self.last = 0.0

    @property
    def platform(self) -> Platform:
        return Platform.TELEGRAM

    async def send(self, message: OutboundMessage) -> Delivery:
        if not self.first:
            self.first = time.time()
        delivery = await self._inner.send(message)
        self.last = time.time()
        return delivery


@dataclass
class Share:
    """What one dispatcher process did."""

    first: float
    last: float
    paused_seconds: float  # every send of the bot waited for a 429's retry_after
    cpu_seconds: float
    calls: dict[str, int]
    seconds: dict[str, float]
    cpu_by_part: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """One dispatcher process's part of a run."""

    redis_url: str
    tag: str
    consumer: str
    api_server: str
    token: str
    limit: float
    warm_up_chat: int
    profile: bool = False


def guarded_config() -> Config:
    """The example configuration's guards (caps checked at claim, live classes), quiet hours off so that the
    figures do not depend on the time of day the benchmark runs."""
    raw = tomllib.loads(EXAMPLE.read_text())
    raw["guards"]["quiet_hours"]["enabled"] = False
    return parse_config(raw, str(EXAMPLE), environ={})


async def dispatch(job: Job) -> Share:
    """Drain the outbox of run `job.tag` through a dispatcher of this process; return what it did."""
    store = RedisStore.open(job.redis_url, key_prefix=job.tag)
    settings = TelegramConfig(api_server=job.api_server, limits=TelegramLimits(per_bot_per_second=job.limit))
    bot = make_bot(job.token, settings)
    governor = RateGovernor(settings.limits)
    messenger = Clocked(TelegramMessenger(bot, governor))
    timings = Timings()
    try:
        # pydantic builds aiogram's models on their first use (about a second); a running bot has done so.
        await messenger.send(OutboundMessage("warm-up", Platform.TELEGRAM, str(job.warm_up_chat), "warm-up"))
        messenger.first = 0.0
        dispatcher = Dispatcher(
            cast(Outbox, Timed(store.outbox, "outbox", timings)),
            cast(Learners, Timed(store.learners, "learners", timings)),
            cast(Activity, Timed(store.activity, "activity", timings)),
            {Platform.TELEGRAM: cast(Messenger, Timed(messenger, "messenger", timings))},
            SystemClock(),
            consumer=job.consumer,
            guards=Guards(guarded_config()),
            classes=store.classes,
        )
        stop = asyncio.Event()
        gc.freeze()  # as `classpulse run` does once started: the start-up heap stays out of full collections
        profiler = cProfile.Profile() if job.profile else None
        cpu = time.process_time()
        if profiler is not None:
            profiler.enable()
        running = asyncio.create_task(dispatcher.run(stop, block_ms=100))
        # The outbox is shared with other processes: its emptiness is known only by asking Redis.
        while await store.outbox.pending() and not running.done():  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        stop.set()
        await running
        if profiler is not None:
            profiler.disable()
        cpu = time.process_time() - cpu
    finally:
        await bot.session.close()
        await store.close()
    return Share(
        messenger.first,
        messenger.last,
        governor.stats.paused_seconds,
        cpu,
        dict(timings.calls),
        dict(timings.seconds),
        cpu_by_part(profiler) if profiler is not None else {},
    )


PARTS = (
    ("aiogram + pydantic (request models, answers parsed)", ("/aiogram/", "/pydantic/", "pydantic_core")),
    ("aiohttp (HTTP client)", ("/aiohttp/", "/yarl/", "/multidict/", "/propcache/")),
    ("redis-py (Redis client)", ("/redis/", "hiredis")),
    ("asyncio event loop", ("/asyncio/", "selectors", "_asyncio")),
    ("dispatcher (campaigns/)", ("/campaigns/",)),
    ("outbox and store (adapters/redis/)", ("/adapters/redis/",)),
    ("messenger and governor (adapters/telegram/)", ("/adapters/telegram/", "/aiolimiter/", "/bot/")),
)


def _part(filename: str) -> str:
    return next((name for name, marks in PARTS if any(m in filename for m in marks)), "other")


def cpu_by_part(profiler: cProfile.Profile) -> dict[str, float]:
    """Profiled CPU seconds per part; time in C functions goes to the parts that called them."""
    raw: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    parts: defaultdict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, own, _, callers) in raw.items():
        if filename != "~":
            parts[_part(filename)] += own
            continue
        total = sum(c[2] for c in callers.values()) or 1.0
        for (caller_file, _, _), c in callers.items():
            parts[_part(caller_file)] += own * c[2] / total
        if not callers:
            parts["other"] += own
    return dict(parts)


@dataclass(frozen=True)
class Run:
    limit: float
    faults: int
    dispatchers: int
    messages: int
    seconds: float
    paused_seconds: float
    delivered: int
    from_limits: int
    injected: int
    exactly_once: bool
    cpu_seconds: float
    emulator_cpu_seconds: float
    calls: Counter[str]
    awaited: dict[str, float]
    cpu_by_part: dict[str, float]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def share(self) -> float:
        return self.rate / self.limit

    @property
    def share_unpaused(self) -> float:
        """The share while the bot was allowed to send: 429 pauses left out."""
        sending = self.seconds - self.paused_seconds
        return self.messages / sending / self.limit if sending > 0 else 0.0


async def _in_worker(job: Job) -> Share:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.telegram_send",
        "--worker",
        json.dumps(asdict(job)),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"dispatcher process {job.consumer} failed ({process.returncode})")
    return Share(**json.loads(out.decode().splitlines()[-1]))


async def one_run(
    redis_url: str, n: int, limit: float, faults: int, dispatchers: int, tag: str, profile: bool = False
) -> Run:
    async with EmulatorProcess(per_bot=limit) as tg:
        users = await tg.add_users(n + dispatchers, started=True)
        chats, warm_ups = users[:n], users[n:]
        # Spread the 429s over the run; each asks every send of the bot to wait a second.
        for k in range(1, faults + 1):
            await tg.inject_fault(429, retry_after=1, after=k * n // (faults + 1))
        store = RedisStore.open(redis_url, key_prefix=tag)
        try:
            await store.outbox.enqueue(
                [
                    OutboundMessage(
                        key=f"{tag}:{chat}",
                        platform=Platform.TELEGRAM,
                        chat_id=str(chat),
                        text=f"Hi {formatting.bold(f'learner {i}')}, your personal link: {LINK}",
                        learner_id=f"tg-{chat}",
                        course_id="python101",
                        campaign_id=CAMPAIGN,
                        step_id=STEP,
                        promotional=True,
                    )
                    for i, chat in enumerate(chats)
                ],
                datetime.now(UTC),
            )
            jobs = [
                Job(
                    redis_url,
                    tag,
                    f"{tag}-{k}",
                    tg.base_url,
                    tg.token,
                    limit / dispatchers,
                    warm_ups[k],
                    profile,
                )
                for k in range(dispatchers)
            ]
            emulator_cpu = float((await tg.stats())["cpu_seconds"])
            running = [
                asyncio.create_task(dispatch(job) if dispatchers == 1 else _in_worker(job)) for job in jobs
            ]
            label = (
                f"{limit:g}/s{' with 429s' if faults else ''}{f' ×{dispatchers}' if dispatchers > 1 else ''}"
            )
            columns = (TextColumn(f"{label:<20}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console, transient=True) as progress:
                task = progress.add_task(label, total=n)
                while not all(r.done() for r in running):
                    outcomes = await store.outbox.stats()
                    progress.update(
                        task, completed=sum(outcomes.get((CAMPAIGN, STEP, s), 0) for s in FINISHED)
                    )
                    await asyncio.sleep(0.2)
            shares = [r.result() for r in running]
            stats = await tg.stats()
            emulator_cpu = float(stats["cpu_seconds"]) - emulator_cpu
            delivered = (await store.outbox.stats()).get((CAMPAIGN, STEP, "delivered"), 0)
        finally:
            await store.close()
    sent = n + dispatchers  # and the warm-up messages
    calls: Counter[str] = Counter()
    awaited: defaultdict[str, float] = defaultdict(float)
    cpu_parts: defaultdict[str, float] = defaultdict(float)
    for share in shares:
        calls.update(share.calls)
        for name, seconds in share.seconds.items():
            awaited[name] += seconds
        for name, seconds in share.cpu_by_part.items():
            cpu_parts[name] += seconds
    return Run(
        limit=limit,
        faults=faults,
        dispatchers=dispatchers,
        messages=n,
        seconds=max(s.last for s in shares) - min(s.first for s in shares if s.first),
        paused_seconds=sum(s.paused_seconds for s in shares),
        delivered=delivered,
        from_limits=sum(int(v) for v in stats["limited"].values()),
        injected=int(stats["faults"]),
        exactly_once=stats["sent"] == sent and stats["chats"] == sent and stats["most_in_one_chat"] == 1,
        cpu_seconds=sum(s.cpu_seconds for s in shares),
        emulator_cpu_seconds=emulator_cpu,
        calls=calls,
        awaited=dict(awaited),
        cpu_by_part=dict(cpu_parts),
    )


def unpaused(run: Run) -> str:
    if not run.faults:
        return ""
    if run.dispatchers > 1:
        return "n/a: a 429 pauses only the process that got it"
    return f"{run.share_unpaused:.1%} ({run.paused_seconds:.0f} s paused)"


def results_table(runs: Sequence[Run]) -> Table:
    title = f"Telegram sends through the outbox and dispatcher: {runs[0].messages:,} private chats"
    table = Table(title=title)
    for column in (
        "limit/s",
        "dispatchers",
        "429s injected",
        "reached/s",
        "share of limit",
        "429s from limits",
    ):
        table.add_column(column, justify="right")
    table.add_column("every message delivered once")
    for run in runs:
        missed = not run.faults and (run.share < 0.95 or run.from_limits)
        table.add_row(
            f"{run.limit:g}",
            f"{run.dispatchers}",
            f"{run.injected}",
            f"{run.rate:,.1f}",
            f"{run.share:.1%}{' (target 95 %)' if missed else ''}",
            unpaused(run),
            f"{run.from_limits}",
            f"{'yes' if run.exactly_once else 'NO'} ({run.delivered:,} delivered)",
        )
    return table


def time_table(runs: Sequence[Run]) -> Table:
    table = Table(title="Where each message's time goes (64 sends at once per dispatcher, so awaits overlap)")
    for column in ("limit/s", "dispatchers", "429s", "Redis calls", "awaiting Redis", "in the messenger"):
        table.add_column(column, justify="right")
    table.add_column("dispatcher CPU", justify="right")
    table.add_column("dispatcher CPU busy", justify="right")
    table.add_column("emulator CPU busy", justify="right")
    for run in runs:
        n = run.messages
        redis_calls = sum(c for name, c in run.calls.items() if not name.startswith("messenger"))
        redis_s = sum(s for name, s in run.awaited.items() if not name.startswith("messenger"))
        per_process = run.cpu_seconds / run.dispatchers
        table.add_row(
            f"{run.limit:g}",
            f"{run.dispatchers}",
            f"{run.injected}",
            f"{redis_calls / n:.2f}",
            f"{redis_s / n * 1000:.1f} ms",
            f"{run.awaited.get('messenger.send', 0.0) / n * 1000:.1f} ms",
            f"{run.cpu_seconds / n * 1000:.2f} ms",
            f"{per_process / run.seconds:.0%} each" if run.seconds else "-",
            f"{run.emulator_cpu_seconds / run.seconds:.0%}" if run.seconds else "-",
        )
    return table


def cpu_table(run: Run, reference: Run) -> Table:
    """`run` profiled; `reference`, the same limit unprofiled, gives the CPU a message really costs."""
    total = sum(run.cpu_by_part.values()) or 1.0
    table = Table(title=f"Dispatcher CPU by part at {run.limit:g}/s (shares from a profiled run)")
    table.add_column("part")
    table.add_column("share", justify="right")
    table.add_column("ms per message", justify="right")
    per_message = reference.cpu_seconds / reference.messages * 1000
    for part, seconds in sorted(run.cpu_by_part.items(), key=lambda item: -item[1]):
        table.add_row(part, f"{seconds / total:.0%}", f"{per_message * seconds / total:.2f}")
    return table


async def run_all(
    redis_url: str, n: int, limits: Sequence[float], faults: int, dispatchers: int, profile: bool
) -> tuple[list[Run], Run | None]:
    runs = []
    for limit in limits:
        for inject in (0, faults) if faults else (0,):
            runs.append(await one_run(redis_url, n, limit, inject, dispatchers, f"bench-{limit:g}-{inject}"))
    profiled = None
    if profile:
        profiled = await one_run(redis_url, n, max(limits), 0, 1, "bench-profile", profile=True)
    return runs, profiled


def main(argv: list[str] | None = None) -> list[Run]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=positive_int, default=3000)
    parser.add_argument(
        "--limits",
        type=listed(positive_float),
        default="30,1000",
        help="messages a second per bot, comma-separated",
    )
    parser.add_argument(
        "--faults", type=count, default=10, help="429s injected in the second run of each limit"
    )
    parser.add_argument(
        "--dispatchers", type=positive_int, default=1, help="dispatcher processes sharing the outbox"
    )
    parser.add_argument("--profile", action="store_true", help="split the dispatcher's CPU by part")
    parser.add_argument(
        "--redis", help="use this Redis instead of a private redis-server (keys under bench-*)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one dispatcher process of a --dispatchers run
    args = parser.parse_args(argv)
    if args.worker:
        share = asyncio.run(dispatch(Job(**json.loads(args.worker))))
        print(json.dumps(asdict(share)))
        return []
    limits: list[float] = args.limits

    def go(url: str) -> tuple[list[Run], Run | None]:
        return asyncio.run(run_all(url, args.messages, limits, args.faults, args.dispatchers, args.profile))

    if args.redis:
        runs, profiled = go(args.redis)
    else:
        with LocalRedisServer() as server:
            runs, profiled = go(server.url)
    out = Console()
    out.print(results_table(runs))
    out.print(time_table(runs))
    if profiled is not None:
        reference = next(r for r in runs if r.limit == profiled.limit and not r.faults and r.dispatchers == 1)
        out.print(cpu_table(profiled, reference))
    return runs


if __name__ == "__main__":
    main()
