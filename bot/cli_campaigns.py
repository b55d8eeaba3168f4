"""The campaign engine's commands: `campaigns report|preview`, `coupons revoke`, `events export`,
`config reload`. `bot/cli.py` registers them with `register(app, config_app)`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from adapters.redis import RedisStore
from adapters.redis.connection import MEMORY_URL, redacted
from bot.cli_common import ConfigOption, PrefixOption, RedisOption, config_from, fail, open_store, out
from bot.ports import StoreUnavailable
from campaigns.report import ArmRow

T = TypeVar("T")
campaigns_app = typer.Typer(help="Campaign reports and dry runs.", no_args_is_help=True)
coupons_app = typer.Typer(help="Coupon pools: revoke codes.", no_args_is_help=True)
events_app = typer.Typer(help="The recorded history of interactions.", no_args_is_help=True)


def register(app: typer.Typer, config_app: typer.Typer) -> None:
    app.add_typer(campaigns_app, name="campaigns")
    app.add_typer(coupons_app, name="coupons")
    app.add_typer(events_app, name="events")
    config_app.command("reload")(config_reload)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except StoreUnavailable as exc:
        raise fail(str(exc)) from None


@campaigns_app.command("report")
def report(config: ConfigOption = None, redis: RedisOption = None, key_prefix: PrefixOption = None) -> None:
    """Per step and variant: sent, delivered, clicked, redeemed, revenue, conversion and uplift."""
    from bot.campaign_report import load_report, render_report

    settings = config_from(config)

    async def go() -> list[ArmRow]:
        store = await open_store(settings, redis, key_prefix)
        try:
            return await load_report(settings, store)
        finally:
            await store.close()

    rows = _run(go())
    currencies = {c.currency for c in settings.courses.values()}
    render_report(rows, out, currencies.pop() if len(currencies) == 1 else "")


def _parse_at(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--at {text!r}: not an ISO 8601 time (e.g. 2026-11-06T09:00+00:00)") from None
    if when.tzinfo is None:
        raise fail(f"--at {text!r}: give a time zone (e.g. 2026-11-06T09:00+00:00 or ...Z)")
    return when


@campaigns_app.command("preview")
def preview(
    config: Annotated[Path, typer.Option("--config", help="The configuration whose campaigns to try.")],
    events: Annotated[
        Path | None,
        typer.Option("--events", help="A recording (classpulse events export); default: the store."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Replay up to this time (ISO 8601; default: 7 days after the end)."),
    ] = None,
    redis: RedisOption = None,
    key_prefix: PrefixOption = None,
) -> None:
    """Replay interactions through the campaign rules on an isolated store; print what would be sent."""
    from bot.preview import preview as run_preview
    from bot.recording import Recording, RecordingError, export_recording, parse_line, read_recording

    settings = config_from(config)
    until = _parse_at(at)

    async def recorded() -> Recording:
        store = await open_store(settings, redis, key_prefix)
        try:
            lines = await export_recording(store, sorted(settings.courses))
        finally:
            await store.close()
        recording = Recording()
        for line in lines:
            parse_line(line, recording)
        return recording

    try:
        recording = read_recording(events) if events else _run(recorded())
    except RecordingError as exc:
        raise fail(str(exc)) from None
    if not recording.moments():
        raise fail("nothing to replay: the recording holds no class and no interaction")
    started = time.perf_counter()
    result = _run(run_preview(settings, recording, until))
    table = Table(title=f"Would send (nothing was sent) — {len(result.sends)} messages", title_justify="left")
    for col in ("when (UTC)", "to", "platform", "step", "why"):
        table.add_column(col)
    for send in result.sends:
        who = f"{send.name} ({send.learner})" if send.learner else f"chat {send.chat}"
        table.add_row(
            f"{send.at:%a %d %b %H:%M}", who, send.platform, f"{send.campaign}/{send.step}", send.why
        )
    out.print(table)
    held = Table(title="Held back, dropped or skipped (by guards and rules)", title_justify="left")
    for col in ("step", "variant", "what and why", "count"):
        held.add_column(col, justify="right" if col == "count" else "left")
    for campaign, step, variant, outcome, count in result.outcomes:
        held.add_row(f"{campaign}/{step}", variant or "—", outcome, str(count))
    out.print(held)
    out.print(
        f"[dim]Replayed {result.start:%d %b %H:%M} → {result.end:%d %b %H:%M} (UTC) "
        f"in {time.perf_counter() - started:.1f} s.[/dim]"
    )


@coupons_app.command("revoke")
def revoke(
    pool: Annotated[str, typer.Option("--pool", help="The coupon pool whose unused codes to revoke.")],
    learner: Annotated[str | None, typer.Option("--learner", help="Only this learner's codes.")] = None,
    config: ConfigOption = None,
    redis: RedisOption = None,
    key_prefix: PrefixOption = None,
) -> None:
    """Revoke every code of a pool that is still unused (redeemed codes are left as they are)."""
    settings = config_from(config)
    if pool not in settings.coupons:
        known = ", ".join(sorted(settings.coupons)) or "none"
        raise fail(f"--pool {pool!r}: no such coupon pool (known: {known})")

    async def go() -> tuple[int, int]:
        store = await open_store(settings, redis, key_prefix)
        try:
            codes = await store.coupons.codes(pool, learner or "")
            return len(codes), await store.coupons.revoke(codes)
        finally:
            await store.close()

    total, revoked = _run(go())
    whose = f" of learner {learner}" if learner else ""
    out.print(
        f"Pool {pool}{whose}: {revoked} code(s) revoked, {total - revoked} already used, revoked or gone."
    )


@events_app.command("export")
def export(
    course: Annotated[str | None, typer.Option("--course", help="Only this course (default: all).")] = None,
    out_file: Annotated[Path, typer.Option("--out", help="The JSONL file to write.")] = Path("events.jsonl"),
    config: ConfigOption = None,
    redis: RedisOption = None,
    key_prefix: PrefixOption = None,
) -> None:
    """Write the interactions, class sessions and learner profiles of the store as a JSONL recording."""
    from bot.recording import export_recording, write_lines

    settings = config_from(config)
    if course is not None and course not in settings.courses:
        raise fail(f"--course {course!r}: no such course (known: {', '.join(sorted(settings.courses))})")
    courses = [course] if course else sorted(settings.courses)

    async def go() -> list[dict[str, object]]:
        store = await open_store(settings, redis, key_prefix)
        try:
            return await export_recording(store, courses)
        finally:
            await store.close()

    lines = _run(go())
    try:
        count = write_lines(lines, out_file)
    except OSError as exc:
        raise fail(f"{out_file}: cannot write: {exc.strerror}") from None
    kinds = {k: sum(1 for line in lines if line["type"] == k) for k in ("learner", "class", "interaction")}
    out.print(
        f"{out_file}: {count} lines ({kinds['learner']} learners, {kinds['class']} classes, "
        f"{kinds['interaction']} interactions)"
    )


def config_reload(
    config: Annotated[Path, typer.Option("--config", help="The file the running process reads.")],
    redis: RedisOption = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the running processes' answers.")
    ] = 10.0,
) -> None:
    """Ask every running ClassPulse process that shares the store to reload its configuration."""
    from bot.reload_listener import request_channel, result_channel

    settings = config_from(config)  # a broken file is refused here already, with every problem
    url = redis or settings.storage.redis_url
    if url.startswith(MEMORY_URL):
        raise fail("the embedded memory:// store is private to its process: send it SIGHUP instead")
    prefix = settings.storage.key_prefix

    async def go() -> tuple[int, list[dict[str, object]]]:
        store = RedisStore.open(url, prefix)
        try:
            await store.ping()
            pubsub = store.client.pubsub()
            await pubsub.subscribe(result_channel(prefix))
            # Wait until Redis confirms the subscription: an answer published before it would be lost.
            for _ in range(10):
                if await pubsub.get_message(timeout=1.0) is not None:
                    break
            receivers = int(await store.client.publish(request_channel(prefix), "reload"))
            answers: list[dict[str, object]] = []
            deadline = time.monotonic() + timeout
            while len(answers) < receivers and time.monotonic() < deadline:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                if message is not None:
                    answers.append(json.loads(message["data"]))
            await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            return receivers, answers
        finally:
            await store.close()

    receivers, answers = _run(go())
    if receivers == 0:
        raise fail(f"no running ClassPulse process listens on {redacted(url)} (prefix {prefix})", 1)
    for answer in answers:
        out.print(str(answer["summary"]), markup=False)
        problems = answer.get("problems")
        for problem in problems if isinstance(problems, list) else []:
            out.print(f"  {problem}", markup=False)
    if len(answers) < receivers:
        raise fail(f"{receivers - len(answers)} process(es) did not answer within {timeout:g} s", 1)
    if not all(a["applied"] for a in answers):
        raise typer.Exit(1)
