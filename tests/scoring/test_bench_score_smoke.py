"""The rescoring benchmark runs, tiny, so that it never rots (its figures come from running it for real)."""

from __future__ import annotations

from bench import score


def test_rescoring_benchmark_runs_end_to_end_and_reports_its_figures(redis_url: str) -> None:
    figures = score.main(
        [
            "--learners",
            "2000",
            "--classes",
            "4",
            "--train",
            "800",
            "--folds",
            "2",
            "--candidates",
            "logistic",
            "--redis",
            redis_url,
            "--inline",
        ]
    )
    assert figures["learners"] == 2000
    assert sum(v for k, v in figures.items() if k.startswith("seg_")) == 2000
    assert figures["wall"] > 0
    assert figures["rss"] > 0
    assert figures["predict_per_s"] > 0
    assert {"t_read", "t_features", "t_predict", "t_explain", "t_write"} <= set(figures)
