"""What the database holds and which runs exist."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from evaluator.readmodel._base import Con, _df, _one
from evaluator.readmodel.viewer import OFFICE, Viewer, require_run, run_filter
from evaluator.runs import RunInfo, read_run

# --------------------------------------------------------------------------- database state


@dataclass(frozen=True)
class DbState:
    """What the database holds, so an empty one gets a helpful page instead of an error."""

    has_schema: bool
    units: int = 0
    outcome_rows: int = 0
    survey_rows: int = 0
    batches: int = 0
    runs: int = 0
    latest_period: str | None = None  # of the loaded outcomes or surveys: what to score next

    @property
    def has_data(self) -> bool:
        return self.units + self.outcome_rows + self.survey_rows > 0


def db_state(con: Con, *, viewer: Viewer = OFFICE) -> DbState:
    """What the database holds. Row counts come from table metadata; the latest loaded period
    (a scan of every outcome and answer: ~0.5 s at 10 M rows, on every page's first visit) is
    read only when there is no run yet, the one state whose page names it."""
    tables = set(_df(con, "SELECT table_name FROM information_schema.tables")["table_name"].to_list())
    if not {"runs", "run_scores", "load_batches"} <= tables:
        return DbState(has_schema=False)
    row = _one(
        con,
        "SELECT (SELECT count(*) FROM current_units), (SELECT count(*) FROM outcomes), "
        "(SELECT count(*) FROM survey_responses), (SELECT count(*) FROM load_batches), "
        "(SELECT count(*) FROM runs)",
    )
    assert row is not None
    units, outcomes, surveys, batches, runs = row
    period = None
    if int(runs) == 0:
        found = _one(con, "SELECT max(period) FROM (SELECT period FROM outcomes UNION ALL "
                          "SELECT period FROM survey_responses)")
        period = found[0] if found else None
    return DbState(
        True,
        units=int(units),
        outcome_rows=int(outcomes),
        survey_rows=int(surveys),
        batches=int(batches),
        runs=int(runs),
        latest_period=period,
    )


# --------------------------------------------------------------------------- runs


def list_runs(con: Con, *, viewer: Viewer = OFFICE) -> pl.DataFrame:
    """The runs the viewer may see (the office every one), newest first, with units scored."""
    return _df(
        con,
        f"""
        SELECT r.run_id, r.created_at, r.period, r.scheme_id, r.scheme_version,
               r.scheme_name_zh, r.scheme_name_en, r.lint_errors, r.published, r.note,
               (SELECT count(*) FROM run_scores s WHERE s.run_id = r.run_id) AS units
        FROM runs r WHERE {run_filter(viewer)}
        ORDER BY r.created_at DESC, r.run_id DESC
        """,
    )


def latest_run_id(con: Con, *, viewer: Viewer = OFFICE) -> str | None:
    """The newest run the viewer may see."""
    row = _one(
        con,
        f"SELECT run_id FROM runs r WHERE {run_filter(viewer)} "
        "ORDER BY r.created_at DESC, r.run_id DESC LIMIT 1",
    )
    return str(row[0]) if row else None


def run_info(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> RunInfo | None:
    require_run(con, viewer, run_id)
    return read_run(con, run_id)


def previous_run_id(con: Con, run_id: str, *, viewer: Viewer = OFFICE) -> str | None:
    """The latest run of the same scheme for the closest earlier period (for movers)."""
    require_run(con, viewer, run_id)
    row = _one(
        con,
        f"""
        SELECT p.run_id FROM runs p, runs c
        WHERE c.run_id = ? AND p.scheme_id = c.scheme_id AND p.period < c.period
          AND {run_filter(viewer, "p")}
        ORDER BY p.period DESC, p.created_at DESC LIMIT 1
        """,
        [run_id],
    )
    return str(row[0]) if row else None
