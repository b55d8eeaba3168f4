"""`classpulse campaigns report`: the campaign report loaded from the store and drawn as a rich table."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console, Group
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


def report_table(rows: list[ArmRow], currency: str = "") -> Group:
    """Two tables: what each step and arm did, and what guards and rules kept from learners, and why."""
    table = Table(title="Campaigns report (per step and arm)", title_justify="left")
    for col in (
        "step",
        "arm",
        "n",
        "sent",
        "deliv.",
        "clicked",
        "redeemed",
        f"revenue {currency}".strip(),
        "conv.",
        "uplift vs holdout [95% CI]",
    ):
        table.add_column(col, justify="left" if col in ("step", "arm") else "right")
    for row in rows:
        uplift = ""
        if row.uplift is not None and row.interval is not None:
            low, high = row.interval
            uplift = f"{row.uplift:+.1%} [{low:+.1%}, {high:+.1%}]"
        table.add_row(
            row.step,
            row.variant or "—",
            str(row.assigned) if row.assigned else "",
            str(row.sent),
            str(row.delivered),
            str(row.clicked) if row.assigned else "",
            str(row.redeemed),
            f"{row.revenue:,.0f}",
            _percent(row.conversion) if row.assigned else "",
            uplift,
        )
    table.caption = (
        "n: learners assigned to the arm. conv.: bought within the attribution window after assignment, "
        "of all n (reached or not). Uplift: minus the holdout's; 95% Newcombe hybrid score interval. "
        "Revenue: orders attributed by their coupon, else to the last message within the window."
    )
    kept = Table(title="Held back, dropped or skipped, and why", title_justify="left")
    for col in ("step", "arm", "what and why", "count"):
        kept.add_column(col, justify="right" if col == "count" else "left")
    for row in rows:
        for outcome, count in row.not_sent:
            kept.add_row(row.step, row.variant or "—", outcome, str(count))
    return Group(table, kept)


REPORT_WIDTH = 120  # the table is wide; printed this wide even on a narrower terminal, never squeezed


def render_report(rows: list[ArmRow], console: Console, currency: str = "") -> None:
    if console.width < REPORT_WIDTH:
        console = Console(
            file=console.file,
            width=REPORT_WIDTH,
            force_terminal=console.is_terminal,
            no_color=console.no_color,
            highlight=False,
        )
    console.print(report_table(rows, currency))
