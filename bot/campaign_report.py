"""`classpulse campaigns report`: the campaign report loaded from the store and drawn as a rich table."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from adapters.redis import RedisStore
from bot.config import Config
from campaigns.report import ArmRow, ReportInput, build_report


async def load_report(config: Config, store: RedisStore) -> list[ArmRow]:
    courses = sorted({c.course for c in config.campaigns})
    assignments = {
        (c.id, s.id): await store.campaign_state.assignments(c.id, s.id)
        for c in config.campaigns
        for s in c.steps
    }
    clicks: dict[str, dict[str, datetime]] = {}
    for course in courses:
        learners = await store.activity.course_learners(course)
        totals = await store.campaign_state.totals(course, learners, ["offer_click_ts", "link_click_ts"])
        clicks[course] = {
            lid: datetime.fromtimestamp(max(int(v) for v in fields.values()) / 1000, UTC)
            for lid, fields in totals.items()
            if fields
        }
    data = ReportInput(
        outcomes=await store.outbox.variant_stats(),
        assignments=assignments,
        orders={c: await store.orders.for_course(c) for c in courses},
        attributions={c: await store.orders.attributions(c) for c in courses},
        clicks=clicks,
        coupons=await store.coupons.source_counts(),
    )
    return build_report(config, data)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def report_table(rows: list[ArmRow], currency: str = "") -> Table:
    table = Table(title="Campaigns report (per step and variant)", title_justify="left")
    for col, justify in (
        ("step", "left"),
        ("variant", "left"),
        ("assigned", "right"),
        ("sent", "right"),
        ("delivered", "right"),
        ("clicked", "right"),
        ("redeemed", "right"),
        ("revenue", "right"),
        ("conversion", "right"),
        ("uplift vs holdout [95% CI]", "right"),
        ("held back / dropped (why)", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        uplift = "—"
        if row.uplift is not None and row.interval is not None:
            low, high = row.interval
            uplift = f"{row.uplift:+.1%} [{low:+.1%}, {high:+.1%}]"
        table.add_row(
            f"{row.campaign}/{row.step}",
            row.variant or "—",
            str(row.assigned) if row.assigned else "—",
            str(row.sent),
            str(row.delivered),
            str(row.clicked) if row.assigned else "—",
            str(row.redeemed),
            f"{row.revenue:,.2f} {currency}".strip(),
            _percent(row.conversion),
            uplift,
            ", ".join(f"{outcome} {n}" for outcome, n in row.not_sent) or "—",
        )
    table.caption = (
        "Conversion: bought within the attribution window after assignment, of everyone assigned; "
        "uplift: minus the holdout's conversion; interval: Newcombe hybrid score (Wilson-based). "
        "Revenue: orders attributed by coupon, else last touch within the window."
    )
    return table


def render_report(rows: list[ArmRow], console: Console, currency: str = "") -> None:
    console.print(report_table(rows, currency))
