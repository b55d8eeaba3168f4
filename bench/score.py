"""Batch rescoring end to end: a million learners read from Redis, scored, segments and reasons written back.

    python -m bench.score [--learners 1000000] [--classes 8] [--train 20000] [--redis URL]

Without --redis it starts a private redis-server on a free port. The course is synthetic (the five kinds of
learner of scoring/datasets/synthetic.py), loaded into Redis in the store's own key layout with pipelined
writes; a model is trained on a separate, smaller synthetic course. The timed part runs in a fresh child
process so that its peak memory (RSS) is its own, not the loader's. Target: at most 20 s and 4 GiB.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import redis.asyncio as aioredis
from rich.console import Console
from rich.table import Table

from adapters.redis.bulk import RawBulk
from adapters.redis.classes import RedisClasses
from adapters.redis.keys import Keys
from adapters.redis.local_server import LocalRedisServer
from bench.arguments import candidate, folds, listed, positive_int
from bot.domain import ClassSession, ClassState, Platform
from bot.history import COUNTED_KINDS, PLATFORM_BITS
from scoring.datasets.synthetic import SyntheticCourse, generate

console = Console()
COURSE = "bench"
TARGET_SECONDS = 20.0
TARGET_BYTES = 4 * 1024**3
_BATCH = 10_000


def _learner_commands(keys: Keys, course: SyntheticCourse, rows: range) -> list[tuple[bytes, ...]]:
    h = course.history
    prefix = keys.course(COURSE).encode()
    profile = keys.learner("").encode()
    ids = [i.encode() for i in h.learner_ids[rows.start : rows.stop].tolist()]
    names = [k.value.encode() for k in COUNTED_KINDS]
    columns = [h.counts[k][rows.start : rows.stop].tolist() for k in COUNTED_KINDS]
    watch = h.watch_s[rows.start : rows.stop].tolist()
    first = h.first_ms[rows.start : rows.stop].tolist()
    platforms = h.platforms[rows.start : rows.stop].tolist()
    opted = h.opted_out[rows.start : rows.stop].tolist()
    commands: list[tuple[bytes, ...]] = []
    for r, learner in enumerate(ids):
        fields: list[bytes] = [
            b"watch_s",
            b"%d" % watch[r],
            b"first_ts",
            b"%d" % first[r],
            b"last_platform",
            b"web" if watch[r] else b"telegram",
        ]
        for name, column in zip(names, columns, strict=True):
            if column[r]:
                fields += [name, b"%d" % column[r]]
        commands.append((b"HSET", prefix + b"l:" + learner, *fields))
        identities = b" ".join(
            p.value.encode() + b":" + learner
            for p in (Platform.TELEGRAM, Platform.DISCORD)
            if platforms[r] & PLATFORM_BITS[p]
        )
        commands.append(
            (
                b"HSET",
                profile + learner,
                b"identities",
                identities,
                b"opted_out",
                b"1" if opted[r] else b"0",
                b"name",
                learner,
            )
        )
    commands.append((b"SADD", prefix + b"learners", *ids))
    attended = h.attended[rows.start : rows.stop]
    for j, class_id in enumerate(h.class_ids):
        present = [ids[r] for r in np.flatnonzero(attended[:, j]).tolist()]
        if present:
            commands.append((b"SADD", keys.class_learners(COURSE, class_id).encode(), *present))
    buyers = [ids[r] for r in np.flatnonzero(h.bought[rows.start : rows.stop]).tolist()]
    if buyers:
        commands.append((b"SADD", keys.buyers(COURSE).encode(), *buyers))
    # Coupons as coupon_issue.lua leaves them: the code, the learner's set of codes, the course's index.
    coupons = keys.coupons().encode()
    index: list[bytes] = []
    for r in np.flatnonzero(h.coupons_issued[rows.start : rows.stop]).tolist():
        issued = int(h.coupons_issued[rows.start + r])
        index += [ids[r], b"%d" % issued]
        for k in range(issued):
            code = b"B%d-%d" % (rows.start + r, k)
            commands.append(
                (
                    b"HSET",
                    coupons + b"code:" + code,
                    b"code",
                    code,
                    b"course_id",
                    COURSE.encode(),
                    b"learner_id",
                    ids[r],
                    b"status",
                    b"issued",
                )
            )
            commands.append((b"SADD", coupons + b"learner:" + ids[r], code))
    if index:
        commands.append((b"HSET", coupons + b"issued-to:" + COURSE.encode(), *index))
    return commands


async def load(url: str, course: SyntheticCourse, keys: Keys) -> float:
    """Write the synthetic course into Redis in the store's layout; returns the seconds it took."""
    started = time.perf_counter()
    client = aioredis.Redis.from_url(url, decode_responses=True)
    h = course.history
    classes = RedisClasses(client, keys)
    for j, class_id in enumerate(h.class_ids):
        begin = h.read_at - timedelta(weeks=len(h.class_ids) - 1 - j, hours=2)
        await classes.save(
            ClassSession(
                class_id,
                COURSE,
                f"class {j + 1}",
                ClassState.ENDED,
                started_at=begin,
                ended_at=begin + timedelta(minutes=float(h.class_minutes[j])),
            )
        )
    await client.aclose()
    bulk = await RawBulk.open(url)
    try:
        for start in range(0, len(h), _BATCH):
            await bulk.write(_learner_commands(keys, course, range(start, min(start + _BATCH, len(h)))))
    finally:
        await bulk.close()
    return time.perf_counter() - started


def train_model(learners: int, folds: int, candidates: list[str], out: Path) -> dict[str, Any]:
    from scoring.store_training import train_from_store

    started = time.perf_counter()
    report = train_from_store(
        generate(learners, seed=7, course_id=COURSE).history,
        out,
        folds=folds,
        candidates=candidates,
        plot=False,
    )
    chosen = report.result(report.chosen)
    return {
        "model": chosen.title,
        "roc_auc": str(chosen.summary["roc_auc"]),
        "seconds": time.perf_counter() - started,
    }


def timed_rescore(url: str, model_path: str, now_ms: int) -> dict[str, float]:
    """The measured part: read every learner, score, write back; then predict alone, for its throughput."""
    from datetime import UTC, datetime

    from adapters.redis.history import RedisHistory
    from bot.clock import ManualClock
    from bot.config import ScoringConfig
    from scoring.artifact import load_model
    from scoring.model_scorer import ModelScorer
    from scoring.rescore import rescore_all

    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    model = load_model(Path(model_path))

    async def run() -> dict[str, float]:
        client = aioredis.Redis.from_url(url, decode_responses=True)
        history = RedisHistory(client, Keys(), url)
        scorer = ModelScorer(ScoringConfig(), model, ManualClock(now))
        redis_cpu = await _redis_cpu(client)
        started, cpu = time.perf_counter(), time.process_time()
        summary = await rescore_all(history, scorer, COURSE, now)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        redis_cpu = await _redis_cpu(client) - redis_cpu
        await client.aclose()
        return {
            "wall": wall,
            "cpu": cpu,
            "redis_cpu": redis_cpu,
            "loadavg": os.getloadavg()[0],
            "learners": float(summary.learners),
            **{f"t_{k}": v for k, v in summary.seconds.items()},
            **{f"seg_{k}": float(v) for k, v in summary.segments.items()},
        }

    figures = asyncio.run(run())
    figures["rss"] = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    figures["predict_per_s"] = figures["learners"] / figures["t_predict"]
    return figures


async def _redis_cpu(client: aioredis.Redis) -> float:
    info = await client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _child(queue: Any, url: str, model_path: str, now_ms: int) -> None:
    queue.put(timed_rescore(url, model_path, now_ms))


def measure(url: str, model_path: Path, now_ms: int, inline: bool) -> dict[str, float]:
    if inline:
        return timed_rescore(url, str(model_path), now_ms)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue, url, str(model_path), now_ms))
    process.start()
    figures: dict[str, float] = queue.get()
    process.join()
    return figures


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=positive_int, default=1_000_000)
    parser.add_argument("--classes", type=positive_int, default=8)
    parser.add_argument("--train", type=positive_int, default=20_000, help="learners of the training course")
    parser.add_argument("--folds", type=folds, default=3)
    parser.add_argument(
        "--candidates",
        type=listed(candidate),
        default="logistic,boosting",
        help="comma-separated: knn,logistic,boosting",
    )
    parser.add_argument(
        "--redis", help="use this Redis (its current database is flushed!) instead of a private one"
    )
    parser.add_argument(
        "--inline", action="store_true", help="measure in this process (peak RSS then includes the loader)"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="classpulse-bench-") as tmp:
        model_path = Path(tmp) / "model.joblib"
        with console.status(f"training on {args.train:,} synthetic learners…"):
            trained = train_model(args.train, args.folds, args.candidates, model_path)
        with console.status(f"generating {args.learners:,} learners…"):
            course = generate(args.learners, classes=args.classes, seed=11, course_id=COURSE)
        now_ms = int(course.history.read_at.timestamp() * 1000)

        def bench(url: str) -> dict[str, float]:
            import redis

            sync = redis.Redis.from_url(url)
            sync.flushdb()
            with console.status(f"loading {args.learners:,} learners into Redis…"):
                loaded = asyncio.run(load(url, course, Keys()))
            memory = float(sync.info("memory")["used_memory"])
            with console.status("rescoring…"):
                figures = measure(url, model_path, now_ms, args.inline)
            sync.flushdb(asynchronous=True)  # millions of keys: freed in the background
            sync.close()
            return {**figures, "load": loaded, "redis_memory": memory}

        if args.redis:
            figures = bench(args.redis)
        else:
            with LocalRedisServer() as server:
                figures = bench(server.url)
    figures.update({"train_seconds": trained["seconds"]})
    _print(args, trained, figures)
    return figures


def _print(args: argparse.Namespace, trained: dict[str, Any], f: dict[str, float]) -> None:
    table = Table(title=f"Batch rescoring: {int(f['learners']):,} learners, {args.classes} classes")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row(
        "model", f"{trained['model']} (ROC-AUC {trained['roc_auc']}, trained in {trained['seconds']:.1f} s)"
    )
    table.add_row(
        "load into Redis (not timed)", f"{f['load']:.1f} s, Redis holds {f['redis_memory'] / 2**20:,.0f} MiB"
    )
    verdict = "meets" if f["wall"] <= TARGET_SECONDS else "MISSES"
    table.add_row("end to end wall time", f"{f['wall']:.2f} s ({verdict} the {TARGET_SECONDS:g} s target)")
    table.add_row("  read from Redis", f"{f['t_read']:.2f} s")
    table.add_row("  features", f"{f['t_features']:.2f} s")
    table.add_row("  predict", f"{f['t_predict']:.2f} s")
    table.add_row("  explain (reasons in words) and segments", f"{f['t_explain']:.2f} s")
    table.add_row("  write segments and reasons", f"{f['t_write']:.2f} s")
    table.add_row("CPU time: rescoring process, redis-server", f"{f['cpu']:.2f} s, {f['redis_cpu']:.2f} s")
    table.add_row("load average (1 min) at the end", f"{f['loadavg']:.1f} on {os.cpu_count()} cores")
    verdict = "meets" if f["rss"] <= TARGET_BYTES else "MISSES"
    table.add_row("peak memory (RSS)", f"{f['rss'] / 2**20:,.0f} MiB ({verdict} the 4 GiB target)")
    table.add_row("predict only", f"{f['predict_per_s']:,.0f} learners/s")
    segments = ", ".join(f"{int(v):,} {k[4:]}" for k, v in sorted(f.items()) if k.startswith("seg_"))
    table.add_row("segments", segments)
    console.print(table)


if __name__ == "__main__":
    main()
