"""evaluator: outcome-first performance evaluation for the public sector."""

__version__ = "0.2.0"
