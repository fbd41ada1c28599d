"""Console output and error exits shared by every command."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console


class Lang(StrEnum):
    """Language of what a command writes for people."""

    en = "en"
    zh = "zh"


DbOpt = Annotated[Path, typer.Option(
    "--db", help="DuckDB file / 数据库文件")]

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a clear error (no traceback) and exit with `code`."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {message}")
