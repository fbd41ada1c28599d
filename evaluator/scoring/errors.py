"""Errors a user can cause while scoring; the CLI prints the message and exits 1."""

from __future__ import annotations

from evaluator.errors import EvaluatorError


class ScoringError(EvaluatorError):
    """The run cannot be made as asked; the message says why and what to do."""
