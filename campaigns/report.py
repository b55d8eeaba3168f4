"""Per campaign step and variant: what was sent and what it did, and the uplift over the holdout.

Conversion is intention-to-treat: everyone assigned to an arm (the audience after opt-out and buyer
suppression, split by a stable hash) counts in its denominator, reached or not, exactly like the holdout,
which receives nothing. A learner converts when they buy the course within the attribution window after
their assignment. Uplift is the arm's conversion minus the holdout's, with a 95 % Newcombe hybrid score
interval (Newcombe 1998, method 10: Wilson score intervals of each proportion combined): it keeps its
coverage with small groups and conversion rates near 0, where the textbook Wald interval is far too narrow,
and it needs no resampling, so a report reads the same every time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.config import Config
from bot.domain import Purchase
from campaigns.experiments import HOLDOUT

Z95 = 1.959964
SENT = ("delivered", "unreachable", "dropped", "dead")


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float]:
    """95 % interval of p1 - p2 (Newcombe's hybrid score method)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


@dataclass(frozen=True, slots=True)
class ArmRow:
    campaign: str
    step: str
    variant: str  # "" for a step without variants, "holdout" for its control group
    assigned: int  # learners in the arm (0 when the step runs no experiment: it records no arms)
    sent: int
    delivered: int
    clicked: int
    redeemed: int
    revenue: float
    converted: int
    not_sent: tuple[tuple[str, int], ...]  # (outcome: reason, count): what guards held back or dropped
    uplift: float | None = None
    interval: tuple[float, float] | None = None

    @property
    def conversion(self) -> float | None:
        return self.converted / self.assigned if self.assigned else None


@dataclass(frozen=True, slots=True)
class ReportInput:
    """Everything the report reads, loaded from the store by the caller."""

    outcomes: Mapping[tuple[str, str, str, str], int]  # (campaign, step, variant, outcome) -> count
    assignments: Mapping[tuple[str, str], Mapping[str, tuple[str, datetime]]]  # -> learner -> (arm, when)
    orders: Mapping[str, Sequence[Purchase]]  # course -> orders
    attributions: Mapping[str, Mapping[str, str]]  # course -> order id -> "campaign|step|variant"
    clicks: Mapping[str, Mapping[str, datetime]]  # course -> learner -> last click on an offer or link
    coupons: Mapping[tuple[str, str, str, str], int]  # (campaign, step, variant, issued|redeemed) -> count


def build_report(config: Config, data: ReportInput) -> list[ArmRow]:
    window = config.campaign_engine.attribution_window
    rows: list[ArmRow] = []
    for campaign in config.campaigns:
        orders = data.orders.get(campaign.course, ())
        first_order: dict[str, datetime] = {}
        for order in sorted(orders, key=lambda o: o.at):
            first_order.setdefault(order.learner_id, order.at)
        revenue: dict[str, float] = {}
        attributed = data.attributions.get(campaign.course, {})
        for order in orders:
            source = attributed.get(order.order_id)
            if source:
                revenue[source] = revenue.get(source, 0.0) + order.amount
        clicks = data.clicks.get(campaign.course, {})
        for step in campaign.steps:
            arms = data.assignments.get((campaign.id, step.id), {})
            names = ([HOLDOUT] if step.holdout else []) + ([v.id for v in step.variants] or [""])
            step_rows = [
                _row(campaign.id, step.id, name, arms, data, first_order, clicks, revenue, window)
                for name in names
            ]
            control = next((r for r in step_rows if r.variant == HOLDOUT), None)
            for row in step_rows:
                if control is not None and row is not control and row.assigned and control.assigned:
                    low, high = newcombe(row.converted, row.assigned, control.converted, control.assigned)
                    uplift = row.converted / row.assigned - control.converted / control.assigned
                    rows.append(replace(row, uplift=uplift, interval=(low, high)))
                else:
                    rows.append(row)
    return rows


def _row(
    campaign: str,
    step: str,
    variant: str,
    arms: Mapping[str, tuple[str, datetime]],
    data: ReportInput,
    first_order: Mapping[str, datetime],
    clicks: Mapping[str, datetime],
    revenue: Mapping[str, float],
    window: timedelta,
) -> ArmRow:
    members = {lid: at for lid, (arm, at) in arms.items() if arm == variant}
    outcomes = {o: n for (c, s, v, o), n in data.outcomes.items() if (c, s, v) == (campaign, step, variant)}
    sent = sum(n for o, n in outcomes.items() if o.split(":", 1)[0] in SENT)
    not_sent = tuple(sorted((o, n) for o, n in outcomes.items() if o != "delivered"))
    converted = sum(
        1 for lid, at in members.items() if lid in first_order and at <= first_order[lid] <= at + window
    )
    clicked = sum(1 for lid, at in members.items() if lid in clicks and clicks[lid] >= at)
    return ArmRow(
        campaign=campaign,
        step=step,
        variant=variant,
        assigned=len(members),
        sent=sent,
        delivered=outcomes.get("delivered", 0),
        clicked=clicked,
        redeemed=data.coupons.get((campaign, step, variant, "redeemed"), 0),
        revenue=round(revenue.get(f"{campaign}|{step}|{variant}", 0.0), 2),
        converted=converted,
        not_sent=not_sent,
    )
