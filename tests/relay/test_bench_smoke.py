"""A tiny run of bench/relay.py: the benchmark starts its server process, drives it, and reports."""

from __future__ import annotations

import pytest

from bench import relay

TINY = ["--seconds", "0.3", "--learners", "300", "--connections", "4", "--rate", "50", "--warm-up", "0.1"]


def test_the_relay_benchmark_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    phases = relay.main([*TINY, "--interval", "1", "--no-pin"])
    assert [p.name for p in phases] == ["clicks max", "clicks paced", "heartbeats max", "heartbeats paced"]
    for phase in phases:
        assert phase.latencies, phase.name
        # No errors and no 429s: only the answers a healthy relay gives.
        assert set(phase.outcomes) <= {"redirect", "counted", "too_soon"}, phase.outcomes
    assert phases[0].outcomes["redirect"] == len(phases[0].latencies)
    assert phases[2].outcomes["counted"] > 0
    assert "heartbeats/s" in capsys.readouterr().out
