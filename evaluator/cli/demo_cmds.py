"""`evaluator demo`: the whole product on generated data, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evaluator.cli.common import console
from evaluator.defaults import DEFAULT_DB, MIN_UNITS


def demo(
    db: Annotated[Path, typer.Option("--db", help="DuckDB file to build (created if missing)")] = DEFAULT_DB,
    port: Annotated[int, typer.Option("--port", help="dashboard port on 127.0.0.1")] = 8501,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="stop after scoring")] = False,
    units: Annotated[int, typer.Option("--units", min=MIN_UNITS, help="number of demo townships")] = 120,
    seed: Annotated[int, typer.Option("--seed", help="random seed of the demo data")] = 2026,
) -> None:
    """Build the demo data, load it, score 2025 and 2026, and serve the dashboard."""
    from evaluator.demo import build_demo

    build = build_demo(db, units=units, seed=seed, say=lambda m: console.print(f"[dim]·[/] {m}"))
    latest = build.run_ids[max(build.run_ids)]
    console.print(f"[green]✓[/] demo database {db} ready; latest run {latest}")
    if no_serve:
        return
    from evaluator.cli.serve_cmds import serve_dashboard

    serve_dashboard(db, port, no_auth=True)


def register(app: typer.Typer) -> None:
    app.command()(demo)
