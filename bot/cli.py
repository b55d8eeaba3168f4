"""The `classpulse` command line."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from bot.cli_campaigns import register as register_campaign_commands
from bot.cli_common import err, fail, out
from bot.cli_scoring import register as register_scoring_commands
from bot.config import ConfigError, load_config
from bot.ports import StoreUnavailable

app = typer.Typer(
    name="classpulse",
    help="ClassPulse: a sales assistant for live online classes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Check and manage configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")

register_campaign_commands(app, config_app)
register_scoring_commands(app)


@config_app.command("check")
def config_check(file: Annotated[Path, typer.Argument(help="The TOML configuration file to check.")]) -> None:
    """Validate a configuration file; print every problem as FILE: key.path: what is wrong (expected)."""
    try:
        config = load_config(file)
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(problem.render(exc.source), markup=False, highlight=False, soft_wrap=True)
        count = len(exc.problems)
        raise fail(f"{file}: {count} problem{'s' if count != 1 else ''} found", 1) from None
    steps = sum(len(c.steps) for c in config.campaigns)
    out.print(
        f"{file}: OK — {len(config.courses)} course(s), {len(config.coupons)} coupon pool(s), "
        f"{len(config.campaigns)} campaign(s) with {steps} step(s)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def demo(
    learners: Annotated[int, typer.Option(min=1, max=100_000, help="How many simulated learners.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same summary.")] = 1,
    classes: Annotated[
        int,
        typer.Option(min=1, max=20, help="A weekly series of classes; from 5 on, the last gets a forecast."),
    ] = 1,
    redis: Annotated[
        str, typer.Option(help="Redis URL; the default runs on the embedded in-process store.")
    ] = "memory://",
    config: Annotated[
        Path | None, typer.Option(help="Configuration file (default: the bundled config.example.toml).")
    ] = None,
) -> None:
    """Run a simulated course through the real pipeline on simulated time, and summarise it."""
    from bot.demo.simulation import DemoOptions, run_demo
    from bot.demo.summary import render

    options = DemoOptions(learners=learners, seed=seed, classes=classes, redis_url=redis, config_path=config)
    started = time.perf_counter()
    with Progress(
        TextColumn("[progress.description]{task.description:<28}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("starting", total=1.0)

        def report(what: str, done: float) -> None:
            progress.update(task, description=what, completed=done)

        try:
            summary = asyncio.run(run_demo(options, report))
        except (ConfigError, StoreUnavailable) as exc:
            raise fail(str(exc)) from None
    render(summary, out)
    days = 10 + 7 * (classes - 1)
    out.print(f"[dim]{days} simulated days in {time.perf_counter() - started:.1f} s.[/dim]")


@app.command()
def run(
    config: Annotated[Path, typer.Option("--config", "-c", help="The TOML configuration file.")],
) -> None:
    """Run the bots, the web server, the scheduler and the dispatcher until SIGINT or SIGTERM."""
    _run_forever(config, web_only=False)


@app.command()
def serve(
    config: Annotated[Path, typer.Option("--config", "-c", help="The TOML configuration file.")],
) -> None:
    """Run only the web server (stream relay, purchase webhook) until SIGINT or SIGTERM."""
    _run_forever(config, web_only=True)


def _run_forever(config: Path, *, web_only: bool) -> None:
    from bot.runtime import ServiceError
    from bot.runtime import run as run_forever
    from scoring.errors import ScoringError

    command = "serve" if web_only else "run"
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    logging.getLogger().setLevel(logging.INFO)
    try:
        asyncio.run(run_forever(loaded, config, web_only=web_only))
    except (ConfigError, ServiceError, StoreUnavailable, ScoringError) as exc:
        raise fail(f"classpulse {command}: {exc}") from None


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
