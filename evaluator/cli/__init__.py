"""The `evaluator` command line. Each command group lives in its own module and registers here."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperGroup, TyperOption

from evaluator import __version__
from evaluator.cli import (
    data_cmds,
    demo_cmds,
    export_cmds,
    forms_cmds,
    scheme_cmds,
    score_cmds,
    serve_cmds,
    uncertainty_cmds,
    user_cmds,
)
from evaluator.cli.common import err_console, error
from evaluator.errors import EvaluatorError


def _flag_type(option: TyperOption, ctx: Any) -> str | None:
    """No `<bool>` after a flag in --help (Typer 0.2x prints one): a flag takes no value."""
    return None if option.is_flag else _TYPE_OF(option, ctx)


_TYPE_OF = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign,assignment]


class _Commands(TyperGroup):
    """The root group: every user error (`EvaluatorError`) is explained here, once, for every
    command; commands catch only what they print specially (all of a scheme's issues, the
    rejected rows of a batch)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except EvaluatorError as exc:
            error(str(exc))
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=_Commands,
    name="evaluator",
    help="Outcome-first performance evaluation: validate and lint schemes, load data, score, "
    "export and browse results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"evaluator {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="print the version and exit / 显示版本")] = False,
) -> None:
    """Outcome-first performance evaluation for the public sector."""


for module in (scheme_cmds, data_cmds, score_cmds, export_cmds, forms_cmds, serve_cmds, demo_cmds,
               user_cmds, uncertainty_cmds):
    module.register(app)


def main() -> None:
    """Run the CLI. A bug must still end in a message, not a traceback (EVALUATOR_DEBUG=1 shows it)."""
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted / 已中断")
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("EVALUATOR_DEBUG"):
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
            "This is a bug in evaluator, not in your input; nothing was half-written (every write is "
            "one transaction). Rerun with EVALUATOR_DEBUG=1 to see the traceback and report it."
        )
        sys.exit(1)
