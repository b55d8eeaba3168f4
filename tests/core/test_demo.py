"""The demo: the whole pipeline on simulated time, deterministic for a seed, on either store."""

from __future__ import annotations

from typer.testing import CliRunner

from bot.cli import app
from bot.demo.simulation import DemoOptions, run_demo


async def test_the_same_seed_gives_the_same_summary() -> None:
    first = await run_demo(DemoOptions(learners=40, seed=7))
    second = await run_demo(DemoOptions(learners=40, seed=7))
    other = await run_demo(DemoOptions(learners=40, seed=8))
    assert first == second
    assert first != other


async def test_the_demo_story_flows_through_every_stage(redis_url: str) -> None:
    summary = await run_demo(DemoOptions(learners=60, seed=1, redis_url=redis_url))
    assert summary.learners == 60
    assert 0 < summary.attended < 60  # some no-shows
    steps = {s.step: s for s in summary.steps}
    assert steps["remind-24h"].delivered == summary.started_bot  # everyone reachable got the reminder
    assert steps["hot-offer"].delivered > 0
    assert steps["no-show-replay"].delivered > 0
    segments = {row.segment: row for row in summary.segments}
    assert segments["hot"].avg_index > segments["warm"].avg_index > segments["cold"].avg_index
    assert summary.coupons_issued == steps["hot-offer"].delivered + steps["warm-offer"].delivered
    assert 0 < summary.coupons_redeemed == summary.purchases_with_coupon <= summary.purchases
    personas = dict(summary.personas)
    assert dict(personas["no-show"]) == {"cold": dict(personas["no-show"]).get("cold", 0)}


def test_the_demo_command_prints_a_readable_summary() -> None:
    result = CliRunner().invoke(app, ["demo", "--learners", "30", "--seed", "2"])
    assert result.exit_code == 0, result.output
    for heading in (
        "ClassPulse demo",
        "Segments at the end of the class",
        "Top hot leads",
        "Messages per campaign step",
        "Sales",
    ):
        assert heading in result.output


def test_the_demo_refuses_an_unreachable_redis_in_one_line() -> None:
    result = CliRunner().invoke(app, ["demo", "--learners", "5", "--redis", "redis://127.0.0.1:1/0"])
    assert result.exit_code == 2
    assert "cannot reach Redis at redis://127.0.0.1:1/0" in result.output
    assert "Traceback" not in result.output


def test_a_url_of_another_scheme_is_refused_in_one_line() -> None:
    result = CliRunner().invoke(app, ["demo", "--learners", "5", "--redis", "http://u:s3cret@cache:6379"])
    assert result.exit_code == 2
    assert "http://u:***@cache:6379: Redis URL must specify one of the following schemes" in result.output
    assert "Traceback" not in result.output
    assert "s3cret" not in result.output


def test_a_redis_password_never_appears_in_an_error() -> None:
    result = CliRunner().invoke(app, ["demo", "--learners", "5", "--redis", "redis://u:s3cret@127.0.0.1:1/0"])
    assert result.exit_code == 2
    assert "redis://u:***@127.0.0.1:1/0" in result.output
    assert "s3cret" not in result.output


async def test_a_series_of_classes_ends_with_styles_and_a_sales_forecast() -> None:
    summary = await run_demo(DemoOptions(learners=40, seed=5, classes=5))
    assert summary.classes == 5
    assert summary.class_title == "Decorators in depth, part 5"
    notes = "\n".join(summary.class_notes)
    assert "Interaction styles:" in notes
    assert "Sales forecast:" in notes
    assert "expected (" in notes  # a number with an interval, not "after 4 past classes"
