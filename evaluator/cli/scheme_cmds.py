"""`evaluator validate`: scheme files checked before anything else reads them."""

from __future__ import annotations

from pathlib import Path

import typer

from evaluator.cli.common import console, err_console
from evaluator.scheme import SchemeInvalid, load_scheme


def validate(scheme: Path = typer.Argument(..., help="scheme YAML file")) -> None:
    """Check a scheme file; print every error with its file, line and key path."""
    try:
        loaded = load_scheme(scheme)
    except SchemeInvalid as exc:
        for issue in exc.issues:
            err_console.print(f"[red]✗[/] {issue}")
        err_console.print(f"[bold red]{len(exc.issues)} error(s)[/] in {scheme}")
        raise typer.Exit(1) from None
    s = loaded.scheme
    console.print(
        f"[green]✓[/] {scheme}: scheme '{s.id}' v{s.version} ({s.name.zh} / {s.name.en}), "
        f"{len(s.indicators())} indicators in {len(s.all_dimensions())} dimensions, "
        f"unit types {', '.join(s.unit_types)}"
    )


def register(app: typer.Typer) -> None:
    app.command()(validate)
