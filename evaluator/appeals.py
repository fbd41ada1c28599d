"""Appeals (申诉): a unit contests one line of its result; the office accepts or rejects it.

An appeal names a run, a unit and either an indicator (a value or a missing datum) or an event
(a veto, bonus or deduction). Accepting needs the correction batch that fixed the data and the
re-score run that used it; rejecting needs a reason. Nothing is deleted: every action is also
appended to `appeal_log`, and exports list the appeals of their run and of earlier runs of the
same period (methodology sheet).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from evaluator.appstore import AppStoreError, app_db_path, connect_app, write
from evaluator.errors import EvaluatorError
from evaluator.runs import stored_scheme

STATUSES = ("open", "accepted", "rejected")

APPEAL_COLUMNS = (
    "appeal_id, run_id, unit_id, "
    "CASE WHEN indicator_id IS NOT NULL THEN 'indicator:' || indicator_id ELSE 'event:' || "
    "event END "
    "AS item, reason, status, filed_by, filed_at, resolution, correction_batch, rescore_run_id, "
    "resolved_by, resolved_at"
)
FRAME_SCHEMA: dict[str, Any] = {
    "appeal_id": pl.Int64,
    "run_id": pl.String,
    "unit_id": pl.String,
    "item": pl.String,
    "reason": pl.String,
    "status": pl.String,
    "filed_by": pl.String,
    "filed_at": pl.String,
    "resolution": pl.String,
    "correction_batch": pl.Int64,
    "rescore_run_id": pl.String,
    "resolved_by": pl.String,
    "resolved_at": pl.String,
}


class AppealError(EvaluatorError):
    """An appeal that cannot be filed or resolved as asked; the message says what to fix."""


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    rows = con.execute(sql, params).fetchall()  # read to the end: DuckDB 2 wants results finished
    return rows[0] if rows else None


def file_appeal(
    data: duckdb.DuckDBPyConnection,
    app: sqlite3.Connection,
    *,
    run_id: str,
    unit_id: str,
    reason: str,
    indicator_id: str | None = None,
    event: str | None = None,
    filed_by: str | None = None,
) -> int:
    """Record a unit's appeal on one line of a run; returns its id. Checks the line exists."""
    reason = (reason or "").strip()
    if not reason:
        raise AppealError("give a reason for the appeal (--reason) / 请填写申诉理由")
    if (indicator_id is None) == (event is None):
        raise AppealError(
            "name exactly one contested line: --indicator ID or --event ID / 请指定一个指标或事项"
        )
    run = _one(data, "SELECT period, scheme_yaml FROM runs WHERE run_id = ?", [run_id])
    if run is None:
        raise AppealError(f"run '{run_id}' not found: see `evaluator runs` or the export manifest")
    if (
        _one(data, "SELECT 1 FROM run_scores WHERE run_id = ? AND unit_id = ?", [run_id, unit_id])
        is None
    ):
        raise AppealError(f"unit '{unit_id}' was not scored in run '{run_id}': check the unit id")
    if indicator_id is not None:
        known = _one(
            data,
            "SELECT 1 FROM run_weights WHERE run_id = ? AND node_id = ? "
            "AND node_kind = 'indicator'",
            [run_id, indicator_id],
        )
        if known is None:
            raise AppealError(
                f"indicator '{indicator_id}' is not in run '{run_id}': use an id from the "
                "unit's breakdown (indicator_id column)"
            )
    else:
        allowed = _event_ids(data, run_id, unit_id, run[0], run[1])
        if event not in allowed:
            raise AppealError(
                f"event '{event}' is neither recorded for unit '{unit_id}' in period "
                f"{run[0]} nor read by the scheme; known events: "
                f"{', '.join(sorted(allowed)) or 'none'}"
            )
    item_col, item = (
        ("indicator_id", indicator_id) if indicator_id is not None else ("event", event)
    )
    with write(app):
        dup = app.execute(
            f"SELECT appeal_id FROM appeals WHERE run_id = ? AND unit_id = ? AND {item_col} = ? "
            "AND status = 'open'",
            [run_id, unit_id, item],
        ).fetchone()
        if dup is not None:
            raise AppealError(
                f"appeal #{dup[0]} on this line is still open: add to it or wait for its resolution"
            )
        cur = app.execute(
            "INSERT INTO appeals (run_id, unit_id, indicator_id, event, reason, filed_by, "
            "filed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [run_id, unit_id, indicator_id, event, reason, filed_by, _now()],
        )
        appeal_id = int(cur.lastrowid or 0)
        app.execute(
            "INSERT INTO appeal_log (appeal_id, action, actor, at, detail) VALUES (?, 'filed', "
            "?, ?, ?)",
            [appeal_id, filed_by, _now(), reason],
        )
    return appeal_id


def _event_ids(
    data: duckdb.DuckDBPyConnection, run_id: str, unit_id: str, period: str, scheme_yaml: str
) -> set[str]:
    """Events a unit may contest: those recorded for it in the period and those the scheme reads."""
    recorded = {
        r[0]
        for r in data.execute(
            "SELECT DISTINCT event FROM current_events WHERE unit_id = ? AND period = ?",
            [unit_id, period],
        ).fetchall()
    }
    loaded = stored_scheme(scheme_yaml, run_id)
    if loaded is not None:
        scheme = loaded.scheme
        recorded |= {v.event for v in scheme.vetoes} | {a.event for a in scheme.adjustments}
    return recorded


def resolve_appeal(
    data: duckdb.DuckDBPyConnection,
    app: sqlite3.Connection,
    appeal_id: int,
    *,
    accept: bool,
    note: str,
    correction_batch: int | None = None,
    rescore_run_id: str | None = None,
    resolved_by: str | None = None,
) -> None:
    """Accept (naming correction batch and re-score run) or reject (with a reason) an appeal."""
    note = (note or "").strip()
    if not note:
        raise AppealError(
            "the office must give a note (accept) or a reason (reject): --note TEXT / "
            "请填写处理意见"
        )
    row = app.execute(
        "SELECT run_id, status FROM appeals WHERE appeal_id = ?", [appeal_id]
    ).fetchone()
    if row is None:
        raise AppealError(f"no appeal #{appeal_id}: see `evaluator appeals list`")
    if row["status"] != "open":
        raise AppealError(
            f"appeal #{appeal_id} is already {row['status']}; appeals are resolved once"
        )
    if accept:
        _check_correction(data, row["run_id"], correction_batch, rescore_run_id)
    else:
        correction_batch, rescore_run_id = None, None
    status = "accepted" if accept else "rejected"
    with write(app):
        changed = app.execute(
            "UPDATE appeals SET status = ?, resolution = ?, correction_batch = ?, "
            "rescore_run_id = ?, "
            "resolved_by = ?, resolved_at = ? WHERE appeal_id = ? AND status = 'open'",
            [status, note, correction_batch, rescore_run_id, resolved_by, _now(), appeal_id],
        ).rowcount
        if changed != 1:
            raise AppealError(f"appeal #{appeal_id} was resolved by someone else meanwhile")
        detail = json.dumps(
            {"note": note, "correction_batch": correction_batch, "rescore_run_id": rescore_run_id},
            ensure_ascii=False,
        )
        app.execute(
            "INSERT INTO appeal_log (appeal_id, action, actor, at, detail) VALUES (?, ?, ?, ?, ?)",
            [appeal_id, status, resolved_by, _now(), detail],
        )


def _check_correction(
    data: duckdb.DuckDBPyConnection, run_id: str, batch: int | None, rescore: str | None
) -> None:
    """An accepted appeal must point at a real correction batch and a later run that used it."""
    if batch is None or rescore is None:
        raise AppealError(
            "accepting needs --batch (the correction batch id from `evaluator ingest`) and "
            "--rescore-run (the run scored after it) / 采纳申诉须注明更正批次和重新计分运行"
        )
    b = _one(data, "SELECT status, kind, file_name FROM load_batches WHERE batch_id = ?", [batch])
    if b is None or b[0] != "accepted":
        raise AppealError(
            f"batch {batch} is not an accepted load batch: load the correction with "
            "`evaluator ingest` and use the batch id it prints"
        )
    old = _one(data, "SELECT period, created_at, batch_ids FROM runs WHERE run_id = ?", [run_id])
    new = _one(data, "SELECT period, created_at, batch_ids FROM runs WHERE run_id = ?", [rescore])
    if old is None or new is None:
        raise AppealError(
            f"re-score run '{rescore}' not found: score again after loading batch {batch}"
        )
    if batch in (old[2] or []):
        raise AppealError(
            f"batch {batch} was already part of the contested run {run_id}: it cannot "
            "be its correction"
        )
    if new[0] != old[0] or new[1] <= old[1]:
        raise AppealError(
            f"run '{rescore}' must be a later run of the same period ({old[0]}) than the "
            f"contested run {run_id}"
        )
    if batch not in (new[2] or []):
        raise AppealError(f"run '{rescore}' did not see batch {batch}: re-score after loading it")


def list_appeals(
    app: sqlite3.Connection,
    *,
    run_id: str | None = None,
    unit_id: str | None = None,
    status: str | None = None,
) -> pl.DataFrame:
    """Appeals, oldest first, optionally for one run, unit or status."""
    if status is not None and status not in STATUSES:
        raise AppealError(f"status must be one of {', '.join(STATUSES)}")
    rows = app.execute(
        f"SELECT {APPEAL_COLUMNS} FROM appeals WHERE (? IS NULL OR run_id = ?) "
        "AND (? IS NULL OR unit_id = ?) AND (? IS NULL OR status = ?) ORDER BY appeal_id",
        [run_id, run_id, unit_id, unit_id, status, status],
    ).fetchall()
    return pl.DataFrame([tuple(r) for r in rows], schema=FRAME_SCHEMA, orient="row")


def appeals_for_export(
    data: duckdb.DuckDBPyConnection, data_db: str | Path, run_id: str
) -> pl.DataFrame:
    """Appeals on `run_id` or earlier runs of its period, or answered by it (for its export)."""
    if not app_db_path(data_db).exists():
        return pl.DataFrame(schema=FRAME_SCHEMA)
    runs = [
        r[0]
        for r in data.execute(
            "SELECT r.run_id FROM runs r, (SELECT period, created_at FROM runs WHERE run_id = "
            "?) me "
            "WHERE r.period = me.period AND r.created_at <= me.created_at",
            [run_id],
        ).fetchall()
    ]
    try:
        app = connect_app(data_db, create=False)
    except AppStoreError:
        return pl.DataFrame(schema=FRAME_SCHEMA)
    try:
        rows = app.execute(
            f"SELECT {APPEAL_COLUMNS} FROM appeals WHERE run_id IN (SELECT value FROM "
            "json_each(?)) "
            "OR rescore_run_id = ? ORDER BY appeal_id",
            [json.dumps(runs), run_id],
        ).fetchall()
    finally:
        app.close()
    return pl.DataFrame([tuple(r) for r in rows], schema=FRAME_SCHEMA, orient="row")
