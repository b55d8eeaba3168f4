"""Intake throughput on a real Redis, beside the raw pipelined XADD rate of redis-py in the same run.

    python -m bench.intake [--events 200000] [--batch 500] [--redis URL] [--chat-log FILE]

Without --redis it starts a private redis-server on a free port. Events come in batches, as the adapters
send them: a mix of chat messages, reactions, questions and watch heartbeats from many learners; with
--chat-log (a CSV with username and message columns, such as ../shared/data/twitch_chat_sample.csv) the
chat part replays real chat, usernames hashed. Target: intake reaches at least 50 % of the raw rate.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis.asyncio as aioredis
from rich.console import Console
from rich.table import Table

from adapters.redis.intake import RedisIntake
from adapters.redis.keys import Keys
from adapters.redis.local_server import LocalRedisServer
from bench.arguments import positive_int, readable_file
from bot.domain import Interaction, InteractionKind, Platform

console = Console()


def make_events(n: int, seed: int, chat_log: Path | None) -> list[Interaction]:
    rng = random.Random(seed)
    speakers: list[str] = []
    if chat_log is not None:
        with chat_log.open(newline="", encoding="utf-8") as fh:
            # Pseudonymise: real usernames never leave this function.
            speakers = [
                hashlib.sha256(row["username"].encode()).hexdigest()[:12] for row in csv.DictReader(fh)
            ]
    learners = [f"tg-{i}" for i in range(5000)]
    start = datetime(2026, 11, 1, 18, 0, tzinfo=UTC)
    kinds = [InteractionKind.MESSAGE] * 5 + [InteractionKind.REACTION] * 2 + [InteractionKind.QUESTION]
    events = []
    for i in range(n):
        at = start + timedelta(milliseconds=i * 20)
        course = f"course{i % 4}"
        if i % 3 == 0:
            learner = rng.choice(learners)
            events.append(
                Interaction(
                    InteractionKind.WATCH_HEARTBEAT,
                    Platform.WEB,
                    f"hb{i}",
                    course,
                    learner,
                    at,
                    class_id="c1",
                    payload={"seconds": 15},
                )
            )
            continue
        learner = f"tg-{speakers[i % len(speakers)]}" if speakers else rng.choice(learners)
        events.append(
            Interaction(
                rng.choice(kinds),
                Platform.TELEGRAM,
                f"u{i}",
                course,
                learner,
                at,
                chat_id="-100123",
                class_id="c1",
            )
        )
    return events


async def raw_xadd(client: aioredis.Redis, events: list[Interaction], batch: int) -> float:
    """Events per second of plain pipelined XADD with the same fields: the ceiling intake is compared to."""
    await client.delete("bench:raw")
    t0 = time.perf_counter()
    for start in range(0, len(events), batch):
        async with client.pipeline(transaction=False) as pipe:
            for e in events[start : start + batch]:
                pipe.xadd(
                    "bench:raw",
                    {
                        "k": e.kind.value,
                        "p": e.platform.value,
                        "e": e.event_id,
                        "l": e.learner_id,
                        "c": e.class_id,
                        "ch": e.chat_id,
                        "t": str(int(e.at.timestamp() * 1000)),
                        "d": "{}",
                    },
                )
            await pipe.execute()
    return len(events) / (time.perf_counter() - t0)


async def intake_rate(client: aioredis.Redis, events: list[Interaction], batch: int) -> tuple[float, int]:
    await client.flushdb()
    intake = RedisIntake(client, Keys("bench"), timedelta(days=7))
    t0 = time.perf_counter()
    accepted = 0
    for start in range(0, len(events), batch):
        accepted += (await intake.ingest(events[start : start + batch])).accepted
    return len(events) / (time.perf_counter() - t0), accepted


async def run(url: str, n: int, batch: int, rounds: int, chat_log: Path | None) -> dict[str, float]:
    events = make_events(n, seed=1, chat_log=chat_log)
    client = aioredis.Redis.from_url(url, decode_responses=True)
    raws, intakes = [], []
    try:
        with console.status("measuring…"):
            for _ in range(rounds):
                raws.append(await raw_xadd(client, events, batch))
                rate, accepted = await intake_rate(client, events, batch)
                if accepted != n:
                    raise SystemExit(f"intake accepted {accepted} of {n} distinct events")
                intakes.append(rate)
        await client.flushdb()
    finally:
        await client.aclose()
    raw, intake = statistics.median(raws), statistics.median(intakes)
    return {"raw": raw, "intake": intake, "ratio": intake / raw}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=positive_int, default=200_000)
    parser.add_argument("--batch", type=positive_int, default=500)
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument(
        "--redis", help="use this Redis (its current database is flushed!) instead of a private one"
    )
    parser.add_argument(
        "--chat-log", type=readable_file, help="CSV with username,message columns to replay as chat"
    )
    args = parser.parse_args(argv)

    if args.redis:
        figures = asyncio.run(run(args.redis, args.events, args.batch, args.rounds, args.chat_log))
    else:
        with LocalRedisServer() as server:
            figures = asyncio.run(run(server.url, args.events, args.batch, args.rounds, args.chat_log))

    table = Table(title=f"Intake: {args.events:,} events in batches of {args.batch}, median of {args.rounds}")
    table.add_column("path")
    table.add_column("events/s", justify="right")
    table.add_row("raw pipelined XADD (redis-py)", f"{figures['raw']:,.0f}")
    table.add_row("intake (dedup + log + counters)", f"{figures['intake']:,.0f}")
    verdict = "meets" if figures["ratio"] >= 0.5 else "MISSES"
    table.add_row("ratio", f"{figures['ratio']:.0%}  ({verdict} the 50 % target)")
    console.print(table)
    return figures


if __name__ == "__main__":
    main()
