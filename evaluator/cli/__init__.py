"""The `evaluator` command line. Each command group lives in its own module and registers here."""

from __future__ import annotations

import typer

from evaluator.cli import (
    data_cmds,
    demo_cmds,
    export_cmds,
    scheme_cmds,
    score_cmds,
    serve_cmds,
    user_cmds,
)

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


for module in (scheme_cmds, data_cmds, score_cmds, export_cmds, serve_cmds, demo_cmds, user_cmds):
    module.register(app)


def main() -> None:
    app()
