"""`evaluator demo`: the whole product on generated data, in one command."""

from __future__ import annotations

from pathlib import Path

import typer

from evaluator.cli.common import console
from evaluator.store import DEFAULT_DB


def demo(
    db: Path = typer.Option(DEFAULT_DB, "--db", help="DuckDB file to build (created if missing)"),
    port: int = typer.Option(8501, "--port", help="dashboard port on 127.0.0.1"),
    no_serve: bool = typer.Option(False, "--no-serve", help="stop after scoring"),
    units: int = typer.Option(120, "--units", min=4, help="number of demo townships"),
    seed: int = typer.Option(2026, "--seed", help="random seed of the demo data"),
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
