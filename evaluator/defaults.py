"""Defaults that command-line options show in --help, in a module with no heavy imports.

Typer reads every command's defaults to build the CLI, so these must be importable without
DuckDB, polars or numpy: `evaluator --help` should not pay for the engine. The modules that use
them (the store, the demo data, the bootstrap) import them from here.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_DB = Path("data/evaluator.duckdb")  # the store's file when --db is left out
MIN_UNITS = 8  # the demo's planted problems need this many townships; both demo commands enforce it
DEFAULT_REPLICATES = 500  # bootstrap replicates of `evaluator uncertainty` / `score --uncertainty`
DEFAULT_LEVEL = 0.95  # interval level of the bootstrap
DEFAULT_SEED = 20260  # bootstrap seed: the same seed gives the same intervals
