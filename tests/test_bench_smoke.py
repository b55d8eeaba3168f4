"""Each benchmark runs, tiny, so that it never rots (figures come from running them for real)."""

from __future__ import annotations

from bench import intake


def test_intake_benchmark_runs_and_reports_both_rates(redis_url: str) -> None:
    figures = intake.main(["--events", "2000", "--batch", "200", "--rounds", "1", "--redis", redis_url])
    assert figures["raw"] > 0
    assert figures["intake"] > 0
    assert figures["ratio"] == figures["intake"] / figures["raw"]
