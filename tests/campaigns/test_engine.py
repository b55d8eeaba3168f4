"""Triggers, audiences, experiments, coupons v2 and the report, on the real app."""

from __future__ import annotations

import asyncio
import tomllib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from typer.testing import CliRunner

from adapters.console import RecordingMessenger
from adapters.redis.coupons import CouponRejected
from bot.app import App
from bot.cli import app as cli
from bot.clock import ManualClock
from bot.config import Config, ConfigError, parse_config
from bot.config.audience import parse_audience
from bot.domain import (
    ClassSession,
    ClassState,
    Interaction,
    InteractionKind,
    LearnerScore,
    Platform,
    Segment,
)
from bot.ports import HoldsLiveCoupon
from bot.reload import reload_config
from bot.simulated_time import advance
from campaigns import jobs
from campaigns.audience import Facts, matches
from campaigns.coupons import expiry, issue_coupon, rules
from campaigns.experiments import HOLDOUT, arm
from campaigns.report import newcombe, wilson
from tests.core.conftest import EXAMPLE, enrol

K = InteractionKind
runner = CliRunner()


def example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return [p.render("f.toml") for p in caught.value.problems]


# --- audiences ---


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        (
            {"all": ["hot", {"segmnt": "warm"}]},
            "campaigns[0].steps[4].audience.all[1].segmnt: unknown condition "
            "'segmnt' (did you mean 'segment'?)",
        ),
        (
            {"not": {"segment": ["hot", "tepid"]}},
            "campaigns[0].steps[4].audience.not.segment[1]: 'tepid' is not "
            "a segment (one of hot, warm, cold)",
        ),
        (
            {"score": {"min": 0.8, "max": 0.2}},
            "campaigns[0].steps[4].audience.score: min (0.8) must be below max",
        ),
        (
            {"hot": True, "warm": True},
            "campaigns[0].steps[4].audience: a condition table holds exactly one key",
        ),
        ({"any": []}, "campaigns[0].steps[4].audience.any: any needs a non-empty list of conditions"),
        ("hott", "campaigns[0].steps[4].audience: unknown audience 'hott' (did you mean 'hot'?)"),
        ({"course": "rust201"}, "campaigns[0].steps[4].audience: no course named 'rust201'"),
    ],
)
def test_a_bad_audience_is_reported_with_the_key_path_of_the_mistake(audience: Any, expected: str) -> None:
    data = example()
    data["campaigns"][0]["steps"][4]["audience"] = audience
    assert any(f"f.toml: {expected}" in line for line in problems(data)), problems(data)


def test_audience_conditions_combine_with_and_or_not() -> None:
    tree = parse_audience(
        {
            "all": [
                {"any": ["hot", {"score": {"min": 0.5}}]},
                {"not": {"left_early": 10}},
                {"language": "zh"},
                {"platform": "discord"},
                {"bought": False},
                {"course": "python101"},
            ]
        }
    )
    score = LearnerScore("l", "python101", "c1", 1.0, 0.55, Segment.WARM)
    fits = Facts(score, True, 40.0, frozenset({"discord"}), "zh-hans", frozenset({"python101"}), False)
    assert matches(tree, fits)
    changes: tuple[dict[str, Any], ...] = (
        {"stayed_minutes": 5.0},  # left early
        {"language": "en"},
        {"platforms": frozenset({"telegram"})},
        {"bought": True},
        {"courses": frozenset()},
        {"score": LearnerScore("l", "python101", "c1", 0.2, 0.2, Segment.COLD)},
    )
    for change in changes:
        facts = replace(fits, **change)
        assert not matches(tree, facts), change


def test_a_step_needs_the_arguments_of_its_trigger() -> None:
    data = example()
    data["campaigns"][1]["steps"][3].pop("cron")
    data["campaigns"][1]["steps"][2]["offset"] = "0s"
    data["campaigns"][0]["steps"][5]["variants"][1]["coupon"] = "warm7d"
    data["campaigns"][0]["steps"][5]["variants"][1]["text"]["zh"] = "{{ nmae }}"
    found = problems(data)
    assert any("campaigns[1].steps[3]: a recurring step needs a cron line" in p for p in found)
    assert any("campaigns[1].steps[2]: a inactive step needs an offset" in p for p in found)
    assert any("campaigns[0].steps[5].variants[1].coupon: no coupon pool named 'warm7d'" in p for p in found)
    assert any(
        "campaigns[0].steps[5].variants[1].text.zh: template does not render: 'nmae'" in p for p in found
    )


def test_a_bad_cron_line_is_reported() -> None:
    data = example()
    data["campaigns"][1]["steps"][3]["cron"] = "0 25 * * mon"
    assert any(
        "campaigns[1].steps[3].cron: cannot read '0 25 * * mon' as a cron line" in p for p in problems(data)
    )


# --- experiments ---


def test_arms_are_stable_and_split_by_the_configured_shares(config: Config) -> None:
    step = config.step("python101-live", "warm-offer")
    arms = [arm("python101-live", step, f"tg-{n}") for n in range(4000)]
    assert arms == [arm("python101-live", step, f"tg-{n}") for n in range(4000)]
    share = {a: arms.count(a) / len(arms) for a in set(arms)}
    assert set(share) == {HOLDOUT, "fixed-30", "pct-15"}
    assert abs(share[HOLDOUT] - 0.2) < 0.03
    assert abs(share["fixed-30"] - 0.4) < 0.03


def test_the_newcombe_interval_matches_the_published_example() -> None:
    # Newcombe (1998), table II example (b): 9/10 vs 3/10 -> difference 0.6, 95% CI 0.1705 to 0.8090.
    low, high = newcombe(9, 10, 3, 10)
    assert (round(low, 4), round(high, 4)) == (0.1705, 0.809)
    assert wilson(0, 10)[0] == 0.0


# --- triggers ---


async def test_entering_a_segment_fires_once_per_class_even_when_rescored_again(
    config: Config, app: App, clock: ManualClock, messengers: dict[Platform, RecordingMessenger]
) -> None:
    data = example()
    data["campaigns"] = [
        {
            "id": "seg",
            "course": "python101",
            "steps": [
                {
                    "id": "now-hot",
                    "trigger": "entered_segment",
                    "segment": "hot",
                    "offset": "5m",
                    "allow_during_live": True,
                    "text": "You are on fire, {{ name }}",
                },
            ],
        }
    ]
    assert (await reload_config(app, parse_config(data))).applied
    [learner] = await enrol(app, Platform.TELEGRAM, ["1"])
    session = ClassSession("c1", "python101", "Live", ClassState.LIVE, started_at=clock.now())
    await app.store.classes.save(session)
    await app.rescorer.rescore(session)  # cold: nothing
    beats = [
        Interaction(
            K.WATCH_HEARTBEAT,
            Platform.WEB,
            f"hb{m}",
            "python101",
            learner,
            clock.now(),
            class_id="c1",
            payload={"seconds": 60},
        )
        for m in range(60)
    ]
    click = Interaction(
        K.OFFER_CLICK, Platform.TELEGRAM, "c", "python101", learner, clock.now(), class_id="c1"
    )
    await app.store.intake.ingest([*beats, click])
    await app.rescorer.rescore(session)  # hot now: entered
    await app.rescorer.rescore(session)  # still hot: not entered again
    await advance(app, clock, clock.now() + timedelta(minutes=10))
    assert [s.message.step_id for s in messengers[Platform.TELEGRAM].sent] == ["now-hot"]


async def test_a_recurring_step_fired_twice_for_the_same_moment_sends_once(
    app: App, clock: ManualClock, messengers: dict[Platform, RecordingMessenger]
) -> None:
    job = app.scheduler.get("recurring:python101-nurture:weekly-note")
    assert job is not None
    assert job.next_run_time == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # Monday 10:00 in London (GMT)
    clock.set(datetime(2026, 11, 2, 10, 0, 30, tzinfo=UTC))
    await jobs.run_recurring("cp", "python101-nurture", "weekly-note")
    await jobs.run_recurring("cp", "python101-nurture", "weekly-note")  # a second scheduler
    await app.dispatcher.drain()
    assert len(messengers[Platform.TELEGRAM].to_chat("-1001234567890")) == 1
    await advance(app, clock, datetime(2026, 11, 9, 10, 0, tzinfo=UTC))
    assert len(messengers[Platform.TELEGRAM].to_chat("-1001234567890")) == 2  # next Monday: a new occurrence


async def test_inactivity_offer_clicks_and_expiring_coupons_are_found_by_the_sweep(
    app: App, clock: ManualClock, messengers: dict[Platform, RecordingMessenger]
) -> None:
    quiet, clicker, holder = await enrol(app, Platform.TELEGRAM, ["1", "2", "3"])
    start = clock.now()
    await app.store.intake.ingest(
        [
            Interaction(K.MESSAGE, Platform.TELEGRAM, "m1", "python101", quiet, start),
            Interaction(K.OFFER_CLICK, Platform.TELEGRAM, "o1", "python101", clicker, start),
            Interaction(K.MESSAGE, Platform.TELEGRAM, "m3", "python101", holder, start),
        ]
    )
    coupon = await issue_coupon(
        app.store.coupons,
        "hot-48h",
        app.config.coupons["hot-48h"],
        "python101",
        app.config.courses["python101"],
        holder,
        "k-holder",
        start,
    )
    await advance(app, clock, start + timedelta(hours=19))
    assert [s.message.step_id for s in messengers[Platform.TELEGRAM].sent if s.message.learner_id] == []
    await advance(app, clock, start + timedelta(hours=21))  # the click was 20 h ago
    await advance(app, clock, coupon.expires_at - timedelta(hours=5))  # 6 h before expiry: the reminder
    await advance(app, clock, start + timedelta(days=6))  # quiet for 5 days
    sent = [
        (s.message.learner_id, s.message.step_id)
        for s in messengers[Platform.TELEGRAM].sent
        if s.message.learner_id
    ]
    assert sorted(sent) == sorted(
        [
            (clicker, "clicked-no-buy"),
            (holder, "coupon-expiring"),
            (quiet, "comeback"),
            (clicker, "comeback"),
            (holder, "comeback"),
        ]
    )
    [reminder] = [s for s in messengers[Platform.TELEGRAM].sent if s.message.step_id == "coupon-expiring"]
    assert coupon.code in reminder.rendered  # about the coupon the learner holds, not a new one


# --- coupons v2 ---


async def test_a_learner_never_holds_two_live_coupons_of_a_course(app: App, clock: ManualClock) -> None:
    pool, course = app.config.coupons["hot-48h"], app.config.courses["python101"]
    first = await issue_coupon(
        app.store.coupons, "hot-48h", pool, "python101", course, "tg-1", "k1", clock.now(), one_live=True
    )
    with pytest.raises(HoldsLiveCoupon):
        await issue_coupon(
            app.store.coupons,
            "warm-7d",
            app.config.coupons["warm-7d"],
            "python101",
            course,
            "tg-1",
            "k2",
            clock.now(),
            one_live=True,
        )
    again = await issue_coupon(
        app.store.coupons, "hot-48h", pool, "python101", course, "tg-1", "k1", clock.now(), one_live=True
    )
    assert again == first  # the same key is not a second coupon
    await app.store.coupons.redeem(first.code, "o1", clock.now())
    await issue_coupon(
        app.store.coupons,
        "warm-7d",
        app.config.coupons["warm-7d"],
        "python101",
        course,
        "tg-1",
        "k2",
        clock.now(),
        one_live=True,
    )  # the first one is used: a new one may come


async def test_pool_limits_are_checked_atomically_at_redemption(app: App, clock: ManualClock) -> None:
    pool = app.config.coupons["flash"].model_copy(update={"max_redemptions": 3})
    course = app.config.courses["python101"]
    codes = [
        (
            await issue_coupon(
                app.store.coupons, "flash", pool, "python101", course, f"tg-{n}", f"k{n}", clock.now()
            )
        ).code
        for n in range(6)
    ]
    results = await asyncio.gather(
        *(
            app.store.coupons.redeem(code, f"o{n}", clock.now(), rules=rules(pool))
            for n, code in enumerate(codes)
        ),
        return_exceptions=True,
    )
    assert sum(1 for r in results if not isinstance(r, Exception)) == 3
    assert all(
        isinstance(r, CouponRejected) and r.reason == "pool exhausted"
        for r in results
        if isinstance(r, Exception)
    )


def test_a_pool_expiry_date_caps_the_validity(config: Config) -> None:
    pool = config.coupons["warm-15pct"]
    assert pool.expires_on == date(2026, 12, 31)
    late = datetime(2026, 12, 29, 12, 0, tzinfo=UTC)
    assert expiry(pool, config.courses["python101"], late) == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    early = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    assert expiry(pool, config.courses["python101"], early) == early + timedelta(days=7)


async def test_revoking_a_pool_in_bulk_leaves_redeemed_codes_alone(
    app: App, clock: ManualClock, redis_url: str
) -> None:
    pool, course = app.config.coupons["hot-48h"], app.config.courses["python101"]
    codes = [
        (
            await issue_coupon(
                app.store.coupons, "hot-48h", pool, "python101", course, f"tg-{n}", f"k{n}", clock.now()
            )
        ).code
        for n in range(4)
    ]
    await app.store.coupons.redeem(codes[0], "o1", clock.now())
    result = await asyncio.to_thread(
        runner.invoke,
        cli,
        ["coupons", "revoke", "--pool", "hot-48h", "--learner", "tg-1", "--redis", redis_url],
    )
    assert result.exit_code == 0, result.output
    assert "1 code(s) revoked" in result.output
    result = await asyncio.to_thread(
        runner.invoke, cli, ["coupons", "revoke", "--pool", "hot-48h", "--redis", redis_url]
    )
    assert "2 code(s) revoked, 2 already used, revoked or gone" in result.output
    statuses = [(await app.store.coupons.get(c)).status.value for c in codes]  # type: ignore[union-attr]
    assert statuses == ["redeemed", "revoked", "revoked", "revoked"]
    with pytest.raises(CouponRejected, match="revoked"):
        await app.store.coupons.redeem(codes[1], "o2", clock.now())
    bad = runner.invoke(cli, ["coupons", "revoke", "--pool", "hot48h", "--redis", redis_url])
    assert bad.exit_code == 2
    assert "no such coupon pool" in bad.output


# --- the demo and the report ---


def test_the_demo_ends_with_the_campaigns_report_and_the_report_command_reads_it_back(redis_url: str) -> None:
    result = runner.invoke(cli, ["demo", "--learners", "80", "--seed", "3", "--redis", redis_url])
    assert result.exit_code == 0, result.output
    tail = result.output[result.output.index("Campaigns report") :]
    assert "warm-offer" in tail
    assert "holdout" in tail
    report = runner.invoke(cli, ["campaigns", "report", "--redis", redis_url, "--key-prefix", "cpdemo"])
    assert report.exit_code == 0, report.output
    table = report.output[report.output.index("Campaigns report") :]
    assert table.splitlines()[:12] == tail.splitlines()[:12]


async def test_the_events_export_writes_a_recording(
    app: App, clock: ManualClock, tmp_path: Path, redis_url: str
) -> None:
    await enrol(app, Platform.TELEGRAM, ["1"])
    await app.store.intake.ingest(
        [Interaction(K.MESSAGE, Platform.TELEGRAM, "m1", "python101", "tg-1", clock.now())]
    )
    out = tmp_path / "events.jsonl"
    result = await asyncio.to_thread(
        runner.invoke,
        cli,
        ["events", "export", "--course", "python101", "--out", str(out), "--redis", redis_url],
    )
    assert result.exit_code == 0, result.output
    assert "(1 learners, 0 classes, 1 interactions)" in result.output
    assert out.read_text(encoding="utf-8").count("\n") == 2


def test_a_config_with_a_webhook_but_no_secret_in_the_environment_is_an_error(tmp_path: Path) -> None:
    data = example()
    data["purchase_webhook"]["enabled"] = True
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    result = runner.invoke(cli, ["config", "check", str(path)], env={})
    assert result.exit_code == 1
    assert "purchase_webhook.secret_env: the environment variable CLASSPULSE_PURCHASE_SECRET is not set" in (
        result.output
    )
