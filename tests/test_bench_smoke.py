"""Each benchmark runs, tiny, so that it never rots (figures come from running them for real)."""

from __future__ import annotations

from bench import intake, telegram_send


def test_intake_benchmark_runs_and_reports_both_rates(redis_url: str) -> None:
    figures = intake.main(["--events", "2000", "--batch", "200", "--rounds", "1", "--redis", redis_url])
    assert figures["raw"] > 0
    assert figures["intake"] > 0
    assert figures["ratio"] == figures["intake"] / figures["raw"]


def test_telegram_send_benchmark_delivers_every_message_once_with_and_without_429s(redis_url: str) -> None:
    runs = telegram_send.main(
        ["--messages", "40", "--limits", "1000", "--faults", "1", "--dispatchers", "1", "--redis", redis_url]
    )
    assert [(run.faults, run.delivered, run.exactly_once) for run in runs] == [(0, 40, True), (1, 40, True)]
    assert runs[0].from_limits == 0
    assert runs[1].injected == 1
    assert runs[1].paused_seconds >= 1.0  # the bot waited out the injected retry_after
    assert all(run.rate > 0 for run in runs)
