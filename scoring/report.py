"""The training report in the terminal (rich): data, columns, candidates side by side, warnings."""

from __future__ import annotations

import math

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from scoring.metrics import HIGHER_IS_BETTER, METRIC_TITLES, METRICS
from scoring.training import THRESHOLD_RULE, TrainReport


def render_report(report: TrainReport) -> RenderableType:
    parts: list[RenderableType] = [_header(report), _columns(report), _candidates(report)]
    if report.holdout:
        parts.append(_holdout(report))
    footer = Text()
    footer.append(f"Threshold {report.threshold:.3f}: ", style="bold")
    footer.append(THRESHOLD_RULE + ".\n")
    if report.model_path:
        footer.append("Model saved: ", style="bold")
        footer.append(f"{report.model_path} (metadata {report.model_path.with_suffix('.json').name})\n")
    if report.plot_path:
        footer.append("Curves: ", style="bold")
        footer.append(f"{report.plot_path}\n")
    footer.append(f"Took {report.seconds:.1f} s.", style="dim")
    parts.append(footer)
    for leak in report.leaks:
        parts.append(Text(f"⚠ {leak}", style="bold yellow"))
    for note in report.notes:
        parts.append(Text(f"• {note}", style="dim"))
    return Panel(Group(*parts), title="training report", border_style="cyan")


def _header(report: TrainReport) -> RenderableType:
    text = Text()
    text.append(f"{report.source}\n", style="bold")
    rate = report.positives / report.rows if report.rows else 0.0
    text.append(f"{report.rows:,} training rows, {report.positives:,} positive ({rate:.1%}): ")
    text.append(f"{report.label} ∈ {{{', '.join(report.positive_values)}}}\n")
    text.append(f"Split: {report.split.description}")
    if report.holdout:
        text.append(
            f"; held out for testing: {report.holdout} ({report.holdout_rows:,} rows, "
            f"{report.holdout_positives:,} positive)"
        )
    return text


def _columns(report: TrainReport) -> RenderableType:
    table = Table(title="columns", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("column")
    table.add_column("type")
    table.add_column("use")
    for name, why in report.excluded.items():
        table.add_row(name, "", why, style="dim")
    for column in report.columns:
        use = "feature" if column.is_feature else "dropped"
        table.add_row(
            column.name,
            column.kind.value,
            f"{use}{': ' + column.note if column.note else ''}",
            style=None if column.is_feature else "yellow",
        )
    return table


def _best(values: list[float], metric: str) -> int:
    worst = -1e9 if HIGHER_IS_BETTER[metric] else 1e9
    clean = [worst if math.isnan(v) else v for v in values]
    return clean.index(max(clean) if HIGHER_IS_BETTER[metric] else min(clean))


def _candidates(report: TrainReport) -> RenderableType:
    table = Table(title=f"candidates (mean ± std over {len(report.split.folds)} folds)", title_justify="left")
    table.add_column("model")
    for metric in METRICS:
        table.add_column(METRIC_TITLES[metric], justify="right")
    best = {m: _best([r.summary[m].mean for r in report.results], m) for m in METRICS}
    for i, result in enumerate(report.results):
        cells = [
            f"[bold]{s}[/]" if best[m] == i else s for m, s in ((m, str(result.summary[m])) for m in METRICS)
        ]
        name = result.title + (" ✓ kept" if result.name == report.chosen else "")
        table.add_row(name, *cells, style="green" if result.name == report.chosen else None)
    return table


def _holdout(report: TrainReport) -> RenderableType:
    table = Table(title=f"held-out test: {report.holdout}", title_justify="left")
    table.add_column("model")
    for metric in METRICS:
        table.add_column(METRIC_TITLES[metric], justify="right")
    for result in report.results:
        scores = result.holdout or {}
        table.add_row(
            result.title + (" ✓ kept" if result.name == report.chosen else ""),
            *[f"{scores.get(m, float('nan')):.3f}" for m in METRICS],
            style="green" if result.name == report.chosen else None,
        )
    return table
