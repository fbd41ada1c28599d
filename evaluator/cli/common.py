"""Console output and error exits shared by every command."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape


class Lang(StrEnum):
    """Language of what a command writes for people."""

    en = "en"
    zh = "zh"


DbOpt = Annotated[Path, typer.Option(
    "--db", help="DuckDB file / 数据库文件")]

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def error(message: str) -> None:
    """Print a clear error (no traceback). The message is plain text: a `[...]` in it (a file
    name, a value of the user's) is shown as it is, never read as console markup."""
    err_console.print(f"[bold red]error:[/] {escape(message)}")


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a clear error (no traceback) and exit with `code`."""
    error(message)
    raise typer.Exit(code)


def print_issues(issues: Sequence[object], where: str | None = None) -> None:
    """Each issue (of a scheme, a registry, a workbook) on its own line; with `where`, then how
    many there are in it."""
    for issue in issues:
        err_console.print(f"[red]✗[/] {escape(str(issue))}")
    if where is not None:
        err_console.print(f"[bold red]{len(issues)} error(s)[/] in {escape(where)}")


def warn(message: str) -> None:
    """Print a warning; like `error`, the message is plain text."""
    err_console.print(f"[yellow]warning:[/] {escape(message)}")
