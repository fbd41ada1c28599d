"""Releasing a run to leadership and units, and taking it back.

A new run is seen by the office only. The state lives in one place, `runs.published` in the data
DB (the snapshot copies it, so the read layer filters on it in SQL); who released or withdrew it
and when is recorded in the app store's `run_releases`, beside appeals and users.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from evaluator.appstore import AppStoreError, connect_app, write
from evaluator.errors import EvaluatorError
from evaluator.store.db import connect, transaction


class PublishError(EvaluatorError):
    """A run cannot be released or withdrawn; the message says why and what to do."""


def default_actor() -> str:
    """Who runs the command, for the record when nobody is signed in (the CLI)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def set_published(
    db: str | Path, run_id: str, *, published: bool, by: str, reason: str | None = None
) -> None:
    """Release (`published=True`) or withdraw a run; the record goes to the app store first so
    a release is never in force without saying who made it."""
    if not published and not (reason or "").strip():
        raise PublishError("withdrawing a run needs --reason TEXT / 撤回发布须说明理由")
    con = connect(db)
    try:
        row = con.execute(
            "SELECT coalesce(published, FALSE) FROM runs WHERE run_id = ?", [run_id]
        ).fetchone()
        if row is None:
            raise PublishError(
                f"{db}: no run {run_id}; list them with `evaluator runs --db {db}` / 无此评分"
            )
        if bool(row[0]) == published:
            state = "already released" if published else "not released"
            raise PublishError(f"run {run_id} is {state} / 状态未变")
        try:
            app = connect_app(db)
        except AppStoreError as exc:
            raise PublishError(str(exc)) from None
        try:
            with write(app):
                app.execute(
                    "INSERT INTO run_releases (run_id, action, by_user, at, reason) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [run_id, "released" if published else "withdrawn", by,
                     datetime.now(UTC).isoformat(timespec="seconds"), reason],
                )
                with transaction(con):
                    con.execute("UPDATE runs SET published = ? WHERE run_id = ?", [published, run_id])
        finally:
            app.close()
    finally:
        con.close()


def release_history(db: str | Path, run_id: str | None = None) -> pl.DataFrame:
    """Every release and withdrawal, oldest first (optionally of one run)."""
    schema = {"run_id": pl.String, "action": pl.String, "by_user": pl.String, "at": pl.String,
              "reason": pl.String}
    try:
        app = connect_app(db)
    except AppStoreError as exc:
        raise PublishError(str(exc)) from None
    try:
        rows = app.execute(
            "SELECT run_id, action, by_user, at, reason FROM run_releases "
            "WHERE (? IS NULL OR run_id = ?) ORDER BY release_id",
            [run_id, run_id],
        ).fetchall()
    finally:
        app.close()
    return pl.DataFrame(rows, schema=schema, orient="row")
