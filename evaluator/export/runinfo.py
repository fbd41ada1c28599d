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


def resolve_run(
    con: duckdb.DuckDBPyConnection, run_id: str | None, *, published_only: bool = False
) -> RunInfo:
    """The named run (full id or unique prefix), or the latest one when `run_id` is None.

    For an audience other than the office (`published_only`), "the latest" is the latest
    released run, and an unreleased one is refused.
    """
    if published_only and run_id is None:
        row = con.execute(
            "SELECT run_id FROM runs WHERE coalesce(published, FALSE) "
            "ORDER BY created_at DESC, run_id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise ExportError(
                "no run has been released yet: `evaluator publish --run RUN` first / 尚无已发布的评分"
            )
        run_id = str(row[0])
    try:
        full = resolve_id(con, run_id)
    except RunNotFound as exc:
        raise ExportError(f"{exc} / 未找到考核运行记录") from None
    info = read_run(con, full)
    assert info is not None  # resolve_id just found it
    if published_only and not info.published:
        raise ExportError(
            f"run {full} is not released; only the office may export it (--audience office), "
            "or release it with `evaluator publish --run` / 该次评分尚未发布"
        )
    return info


def burden_hours(scheme: Scheme) -> float:
    """Reporting hours per unit per year the whole scheme imposes."""
    return sum(i.burden_hours() for i in scheme.indicators())
