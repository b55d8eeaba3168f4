"""What the demo shows at the end: attendance, segments, hot leads, campaign steps, coupons and sales."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from bot import formatting
from bot.app import App
from bot.campaign_report import load_report, render_report
from bot.demo.personas import SimLearner
from bot.domain import ClassSession, InteractionKind, LearnerScore, Segment
from campaigns.report import ArmRow

_SEGMENTS = [Segment.HOT, Segment.WARM, Segment.COLD, Segment.OPTED_OUT, Segment.BUYER]


@dataclass(frozen=True, slots=True)
class SegmentRow:
    segment: str
    learners: int
    avg_index: float
    avg_watched: float
    bought: int


@dataclass(frozen=True, slots=True)
class StepRow:
    step: str
    trigger: str
    delivered: int
    not_sent: tuple[tuple[str, int], ...]  # (reason or status, count)


@dataclass(frozen=True, slots=True)
class Lead:
    name: str
    segment: str
    index: float
    reasons: str


@dataclass(frozen=True, slots=True)
class DemoSummary:
    seed: int
    course: str
    class_title: str
    class_minutes: int
    learners: int
    started_bot: int
    attended: int
    avg_watched: float
    interactions: tuple[tuple[str, int], ...]
    segments: tuple[SegmentRow, ...]
    personas: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]  # persona -> segment counts
    hot_leads: tuple[Lead, ...]
    steps: tuple[StepRow, ...]
    coupons_issued: int
    coupons_redeemed: int
    purchases: int
    purchases_with_coupon: int
    revenue: float
    currency: str
    campaigns: tuple[ArmRow, ...] = ()  # the campaigns report, per step and variant
    classes: int = 1
    class_notes: tuple[str, ...] = ()  # interaction styles and the sales forecast of the (last) class
    class_purchases: int = 0  # purchases since the (last) class began: what the forecast aimed at


async def summarise(
    app: App,
    session: ClassSession,
    sims: list[SimLearner],
    ids: dict[int, str],
    scores: dict[str, LearnerScore],
    seed: int,
) -> DemoSummary:
    course_id = session.course_id
    course = app.config.courses[course_id]
    activity = {a.learner_id: a for a in await app.store.activity.for_class(session)}
    buyers = await app.store.activity.buyers(course_id)
    attended = [a for a in activity.values() if a.attended]
    totals: Counter[str] = Counter()
    for a in attended:
        totals.update({k.value: v for k, v in a.counts.items() if k in _SHOWN_KINDS})

    segment_rows = []
    for segment in _SEGMENTS:
        members = [s for s in scores.values() if s.segment is segment]
        if not members:
            continue
        watched = [activity[s.learner_id].watched_minutes for s in members]
        segment_rows.append(
            SegmentRow(
                segment.value,
                len(members),
                round(sum(s.index for s in members) / len(members), 3),
                round(sum(watched) / len(watched), 1),
                sum(1 for s in members if s.learner_id in buyers),
            )
        )

    by_persona: dict[str, Counter[str]] = {}
    for sim in sims:
        score = scores.get(ids[sim.index])
        by_persona.setdefault(sim.persona.name, Counter())[score.segment.value if score else "?"] += 1

    ranked = sorted(
        (s for s in scores.values() if s.segment is Segment.HOT), key=lambda s: (-s.index, s.learner_id)
    )[:10]
    profiles = await app.store.learners.get_many([s.learner_id for s in ranked])
    leads = tuple(
        Lead(
            profiles[s.learner_id].display_name if s.learner_id in profiles else s.learner_id,
            s.segment.value,
            s.index,
            s.reason_text,
        )
        for s in ranked
    )

    stats = await app.store.outbox.stats()
    steps = []
    for campaign in app.config.campaigns:
        if campaign.course != course_id:
            continue
        for step in campaign.steps:
            mine = {status: n for (c, st, status), n in stats.items() if c == campaign.id and st == step.id}
            steps.append(
                StepRow(
                    step.id,
                    step.trigger,
                    mine.pop("delivered", 0),
                    tuple(sorted(mine.items())),
                )
            )

    campaign_rows = tuple(await load_report(app.config, app.store))
    coupon_counts = await app.store.coupons.counts(course_id)
    orders = await app.store.orders.for_course(course_id)
    classes = [c for c in await app.store.classes.all(course_id) if c.started_at is not None]
    notes = tuple(await app.scoring.lines(session))
    return DemoSummary(
        seed=seed,
        course=course.name,
        class_title=session.title,
        class_minutes=round(session.minutes),
        learners=len(sims),
        started_bot=sum(1 for s in sims if s.starts_bot),
        attended=len(attended),
        avg_watched=round(sum(a.watched_minutes for a in attended) / len(attended), 1) if attended else 0.0,
        interactions=tuple(sorted(totals.items())),
        segments=tuple(segment_rows),
        personas=tuple((name, tuple(sorted(c.items()))) for name, c in sorted(by_persona.items())),
        hot_leads=leads,
        steps=tuple(steps),
        coupons_issued=coupon_counts.get("issued", 0),
        coupons_redeemed=coupon_counts.get("redeemed", 0),
        purchases=len(orders),
        purchases_with_coupon=sum(1 for o in orders if o.coupon_code),
        revenue=round(sum(o.amount for o in orders), 2),
        currency=course.currency,
        campaigns=campaign_rows,
        classes=len(classes),
        class_notes=notes,
        class_purchases=sum(1 for o in orders if session.started_at and o.at >= session.started_at),
    )


_SHOWN_KINDS = {
    InteractionKind.MESSAGE,
    InteractionKind.QUESTION,
    InteractionKind.REACTION,
    InteractionKind.POLL_ANSWER,
    InteractionKind.LINK_CLICK,
    InteractionKind.OFFER_CLICK,
}


def render(summary: DemoSummary, console: Console) -> None:
    s = summary
    share = s.attended / s.learners if s.learners else 0.0
    series = f" (the last of {s.classes} weekly classes)" if s.classes > 1 else ""
    head = (
        f"[b]{s.course}[/b] — class “{s.class_title}”{series}, {s.class_minutes} min, "
        f"{s.learners} learners (seed {s.seed})\n"
        f"Attended {s.attended} ({share:.0%}), no-shows {s.learners - s.attended}, "
        f"average watch {s.avg_watched} min; {s.started_bot} learners can be messaged privately\n"
        "Interactions: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s.interactions)
    )

    segments = Table(title="Segments at the end of the class", title_justify="left")
    for col, justify in (
        ("segment", "left"),
        ("learners", "right"),
        ("avg index", "right"),
        ("avg watched (min)", "right"),
        ("bought", "right"),
        ("conversion", "right"),
    ):
        segments.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in s.segments:
        conversion = row.bought / row.learners if row.learners else 0.0
        segments.add_row(
            row.segment,
            str(row.learners),
            f"{row.avg_index:.2f}",
            f"{row.avg_watched:.1f}",
            str(row.bought),
            f"{conversion:.0%}",
        )

    personas = Table(title="Who ended up where (simulated persona → segment)", title_justify="left")
    personas.add_column("persona")
    names = [seg.value for seg in _SEGMENTS if any(seg.value == k for _, c in s.personas for k, _ in c)]
    for name in names:
        personas.add_column(name, justify="right")
    for persona, counts in s.personas:
        lookup = dict(counts)
        personas.add_row(persona, *(str(lookup.get(n, 0)) for n in names))

    leads = Table(title="Top hot leads", title_justify="left")
    leads.add_column("#", justify="right")
    leads.add_column("learner")
    leads.add_column("index", justify="right")
    leads.add_column("why")
    for n, lead in enumerate(s.hot_leads, 1):
        leads.add_row(str(n), lead.name, f"{lead.index:.2f}", lead.reasons)

    steps = Table(title="Messages per campaign step", title_justify="left")
    steps.add_column("step")
    steps.add_column("trigger")
    steps.add_column("delivered", justify="right")
    steps.add_column("not sent (why)")
    for step in s.steps:
        steps.add_row(
            step.step,
            step.trigger,
            str(step.delivered),
            ", ".join(f"{reason} {n}" for reason, n in step.not_sent) or "—",
        )

    sales = (
        f"Coupons issued {s.coupons_issued}, redeemed {s.coupons_redeemed}. "
        f"Purchases {s.purchases} ({s.purchases_with_coupon} with a coupon), "
        f"revenue {s.revenue:,.2f} {s.currency}."
    )
    console.print(Panel(Group(head), title="ClassPulse demo", border_style="cyan"))
    for table in (segments, personas, leads, steps):
        console.print(table)
    console.print(Panel(formatting.plain(sales), title="Sales", border_style="green"))
    notes = [escape(n) for n in s.class_notes]
    if s.classes > 1:
        notes.append(f"Purchases since this class began: {s.class_purchases}")
    console.print(Panel("\n".join(notes), title="This class in the scoring engine", border_style="magenta"))
    render_report(list(s.campaigns), console, s.currency)
