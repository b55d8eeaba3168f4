"""`classpulse campaigns preview`: replay a recording through the campaign rules on an isolated store.

Nothing is sent: the replay runs the real engine (scheduler in manual mode, runner, guards, dispatcher) on a
private embedded store with recording messengers, on simulated time, and reports who would get which
message when and why, and what the guards held back or dropped.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from adapters.console import RecordingMessenger
from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import Config
from bot.config.audience import describe
from bot.config.durations import format_duration
from bot.domain import (
    ClassSession,
    ClassState,
    Interaction,
    InteractionKind,
    Platform,
    Purchase,
)
from bot.recording import Recording
from bot.simulated_time import advance

K = InteractionKind
Progress = Callable[[str, float], None]
AFTER_LAST = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class PlannedSend:
    at: datetime
    learner: str  # learner id ("" for a message to a chat)
    name: str
    platform: str
    chat: str
    campaign: str
    step: str
    variant: str
    key: str
    text: str
    why: str


@dataclass(frozen=True, slots=True)
class PreviewResult:
    start: datetime
    end: datetime
    sends: tuple[PlannedSend, ...]
    outcomes: tuple[tuple[str, str, str, str, int], ...]  # (campaign, step, variant, outcome, count)


def _why(config: Config, campaign_id: str, step_id: str, variant: str) -> str:
    try:
        step = config.step(campaign_id, step_id)
    except StopIteration:
        return ""
    moment: str = step.trigger
    if step.offset:
        sign = "-" if step.trigger in ("before_class", "coupon_expiring") else "+"
        moment += f" {sign}{format_duration(step.offset)}"
    if step.trigger == "entered_segment":
        moment += f" ({step.segment})"
    if step.trigger == "recurring":
        moment += f" ({step.cron})"
    parts = [moment, f"audience: {describe(step.audience)}"]
    if variant:
        parts.append(f"variant {variant}")
    return " · ".join(parts)


def preview_start(config: Config, recording: Recording) -> datetime:
    """Early enough for every reminder of the recorded classes: the first scheduled class minus the
    longest before_class offset, or the first recorded moment."""
    moments = recording.moments()
    if not moments:
        raise ValueError("the recording holds no class and no interaction")
    longest = max(
        (s.offset for c in config.campaigns for s in c.steps if s.trigger == "before_class"),
        default=timedelta(0),
    )
    scheduled = [s.scheduled_at for s in recording.classes if s.scheduled_at is not None]
    start = min([moments[0], *(t - longest for t in scheduled)])
    return start - timedelta(minutes=1)


async def preview(
    config: Config, recording: Recording, until: datetime | None = None, progress: Progress | None = None
) -> PreviewResult:
    report = progress or (lambda _what, _done: None)
    isolated = config.model_copy(
        update={
            "storage": config.storage.model_copy(update={"redis_url": "memory://", "key_prefix": "preview"})
        }
    )
    start = preview_start(config, recording)
    end = until or recording.moments()[-1] + AFTER_LAST
    clock = ManualClock(start)
    messengers = {p: RecordingMessenger(p, clock=clock) for p in (Platform.TELEGRAM, Platform.DISCORD)}
    app = await build_app(isolated, clock=clock, messengers=dict(messengers), scheduler_mode="manual")
    try:
        await _replay(app, clock, recording, end, report)
        outcomes = await app.store.outbox.variant_stats()
        profiles = await app.store.learners.get_many([learner.id for learner, _ in recording.learners])
        names = {lid: p.display_name for lid, p in profiles.items()}
    finally:
        await app.close()
    sends = []
    for messenger in messengers.values():
        for sent in messenger.sent:
            m = sent.message
            assert sent.at is not None  # the messenger has the clock
            sends.append(
                PlannedSend(
                    sent.at,
                    m.learner_id,
                    names.get(m.learner_id, m.learner_id) if m.learner_id else "",
                    m.platform.value,
                    m.chat_id,
                    m.campaign_id,
                    m.step_id,
                    m.variant,
                    m.key,
                    sent.rendered,
                    _why(config, m.campaign_id, m.step_id, m.variant),
                )
            )
    kept = tuple(sorted((c, s, v, o, n) for (c, s, v, o), n in outcomes.items() if o != "delivered"))
    return PreviewResult(start, end, tuple(sorted(sends, key=lambda s: (s.at, s.key))), kept)


async def _replay(
    app: App, clock: ManualClock, recording: Recording, end: datetime, report: Progress
) -> None:
    store = app.store
    toggled = {i.learner_id for i in recording.interactions if i.kind in (K.OPT_OUT, K.OPT_IN)}
    for learner, courses in recording.learners:
        # Opt-outs with a recorded moment happen at that moment; others held from the start.
        await store.learners.restore(
            replace(learner, opted_out=learner.opted_out and learner.id not in toggled)
        )
        for course in courses:
            await store.activity.enroll(course, learner.id)
    # (time, order, action): class transitions sort before the interactions of the same instant.
    timeline: list[tuple[datetime, int, Callable[[], Awaitable[None]]]] = []
    for session in sorted(recording.classes, key=lambda s: (s.scheduled_at or s.started_at or end, s.id)):
        base = ClassSession(
            session.id,
            session.course_id,
            session.title,
            ClassState.SCHEDULED,
            scheduled_at=session.scheduled_at,
            planned_minutes=session.planned_minutes,
        )
        await store.classes.save(base)
        if session.scheduled_at is not None:
            await app.engine.class_scheduled(base)
        if session.started_at is not None:
            live = replace(
                base, state=ClassState.LIVE, started_at=session.started_at, stream_url=session.stream_url
            )
            timeline.append((session.started_at, 0, _starter(app, live)))
            if session.ended_at is not None:
                ended = replace(live, state=ClassState.ENDED, ended_at=session.ended_at)
                timeline.append((session.ended_at, 0, _ender(app, ended)))
    events = sorted(recording.interactions, key=lambda e: e.at)
    for _, group in itertools.groupby(events, key=lambda e: e.at.replace(second=0, microsecond=0)):
        batch = list(group)
        timeline.append((batch[0].at, 1, _ingester(app, batch)))
    timeline.sort(key=lambda item: (item[0], item[1]))
    for n, (when, _, action) in enumerate(timeline):
        if when > end:
            break
        await advance(app, clock, when)
        await action()
        await app.dispatcher.drain()
        report("replaying", (n + 1) / max(len(timeline), 1))
    await advance(app, clock, end)


def _starter(app: App, session: ClassSession) -> Callable[[], Awaitable[None]]:
    async def start() -> None:
        await app.store.classes.save(session)
        await app.engine.class_started(session)

    return start


def _ender(app: App, session: ClassSession) -> Callable[[], Awaitable[None]]:
    async def end() -> None:
        await app.store.classes.save(session)
        await app.rescorer.rescore(session)
        await app.engine.class_ended(session)

    return end


def _ingester(app: App, batch: list[Interaction]) -> Callable[[], Awaitable[None]]:
    async def ingest() -> None:
        plain = []
        for event in batch:
            if event.kind is K.PURCHASE:
                payload = event.payload
                code = str(payload.get("coupon", ""))
                known = code and await app.store.coupons.get(code) is not None
                await app.purchases.record(
                    Purchase(
                        str(payload.get("order_id", event.event_id)),
                        event.course_id,
                        event.learner_id,
                        float(payload.get("amount", 0)),
                        str(payload.get("currency", "")),
                        event.at,
                        coupon_code=code if known else "",
                    )
                )
                continue
            if event.kind in (K.OPT_OUT, K.OPT_IN):
                await app.store.learners.set_opted_out(event.learner_id, event.kind is K.OPT_OUT)
            plain.append(event)
        await app.store.intake.ingest(plain)

    return ingest
