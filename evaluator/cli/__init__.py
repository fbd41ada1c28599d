"""The `evaluator` command line. Each command group lives in its own module and registers here."""

from __future__ import annotations

import os
import sys

import typer
from rich.markup import escape

from evaluator.cli import (
    data_cmds,
    demo_cmds,
    export_cmds,
    forms_cmds,
    scheme_cmds,
    score_cmds,
    serve_cmds,
    user_cmds,
)
from evaluator.cli.common import err_console

app = typer.Typer(
    name="evaluator",
    help="Outcome-first performance evaluation: validate and lint schemes, load data, score, "
    "export and browse results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def _root() -> None:
    """Outcome-first performance evaluation for the public sector."""


for module in (scheme_cmds, data_cmds, score_cmds, export_cmds, forms_cmds, serve_cmds, demo_cmds,
               user_cmds):
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
