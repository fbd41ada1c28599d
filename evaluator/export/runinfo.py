"""Which run is exported, and the scheme it was scored under (re-read from the run's own text).

A run is self-describing: `runs.scheme_yaml` holds the scheme text, so exports never depend on
the scheme file still existing or being unchanged on disk.
"""

from __future__ import annotations

import duckdb

from evaluator.errors import EvaluatorError
from evaluator.runs import RunInfo, RunNotFound, read_run
from evaluator.runs import resolve_run as resolve_id
from evaluator.scheme.models import Scheme


class ExportError(EvaluatorError):
    """A user-caused export problem (no runs, unknown run, unwritable folder); says what to do."""


__all__ = ["ExportError", "RunInfo", "burden_hours", "resolve_run"]


def resolve_run(con: duckdb.DuckDBPyConnection, run_id: str | None) -> RunInfo:
    """The named run (full id or unique prefix), or the latest one when `run_id` is None."""
    try:
        full = resolve_id(con, run_id)
    except RunNotFound as exc:
        raise ExportError(f"{exc} / 未找到考核运行记录") from None
    info = read_run(con, full)
    assert info is not None  # resolve_id just found it
    return info


def burden_hours(scheme: Scheme) -> float:
    """Reporting hours per unit per year the whole scheme imposes."""
    return sum(i.burden_hours() for i in scheme.indicators())
