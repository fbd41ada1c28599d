"""The one base class of every error a user can cause and fix.

Each module raises its own subclass (SchemeInvalid, IngestError, ScoringError, StoreError, …) with
a message naming the file, row or YAML location and what to do. The CLI catches `EvaluatorError`
once, in its root command group (`evaluator.cli`), prints the message and exits with the error's
`exit_code`; anything else that escapes is a bug and is reported as one (`evaluator.cli.main`).
"""

from __future__ import annotations


class EvaluatorError(Exception):
    """A problem with the user's input or environment, explained in the message."""

    exit_code: int = 1
